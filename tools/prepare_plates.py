"""The real Brazilian plate crops split for the `plates` reader, by plate text: no plate on both sides.

    python tools/prepare_plates.py --real ../shared/data/plates-br-openalpr-traindetector \
        --renders ../shared/data/plates-br-synthetic-openalpr --out data/plates-real

Writes OUT/train/labels.tsv (the real crops of the training plates, and the openalpr renders of every plate not
held out) and OUT/val-br/labels.tsv (the real crops of the held-out plates, tools/splits/plates_br_val.txt:
a fifth of the plate strings, drawn once with seed 2026). The files stay where they are: labels.tsv names them
by absolute path. Crops of one plate come from the same car and camera, so a split by crop would let the
validation plates be learnt.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

SPLIT = Path(__file__).parent / "splits" / "plates_br_val.txt"


def read_labels(folder: Path) -> list[tuple[Path, str]]:
    image_dir = folder / "images" if (folder / "images").is_dir() else folder
    rows = []
    for line in (folder / "labels.tsv").read_text(encoding="utf-8").splitlines():
        name, _, text = line.partition("\t")
        if name and text:
            rows.append(((image_dir / name).resolve(), text))
    return rows


def held_out_plates(plates: list[str], split: Path, fraction: float = 0.2, seed: int = 2026) -> set[str]:
    """The split file's plates; drawn and written once when it is missing."""
    if split.is_file():
        return set(split.read_text().split())
    unique = sorted(set(plates))
    picked = np.random.default_rng(seed).permutation(len(unique))[: round(fraction * len(unique))]
    held = sorted(unique[i] for i in picked)
    split.write_text("\n".join(held) + "\n")
    return set(held)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", required=True, type=Path, help="plates-br-openalpr-traindetector (labels.tsv)")
    p.add_argument("--renders", type=Path, help="plates-br-synthetic-openalpr: training only")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--split", type=Path, default=SPLIT, help=f"held-out plate strings (default {SPLIT.name}; "
                                                             "drawn and written when missing)")
    a = p.parse_args(argv)
    real = read_labels(a.real)
    held = held_out_plates([text for _, text in real], a.split)
    renders = read_labels(a.renders) if a.renders else []
    sides = {"train": [r for r in real if r[1] not in held] + [r for r in renders if r[1] not in held],
             "val-br": [r for r in real if r[1] in held]}
    for side, rows in sides.items():
        (a.out / side).mkdir(parents=True, exist_ok=True)
        (a.out / side / "labels.tsv").write_text("".join(f"{path}\t{text}\n" for path, text in rows), encoding="utf-8")
        print(f"{a.out / side}: {len(rows)} crops of {len({t for _, t in rows})} plates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
