"""Real word crops for the recognizer: IIIT5K crops and word crops cut from ICDAR 2015 photos.

    python tools/prepare_real_words.py --iiit5k ../shared/data/iiit5k-train --icdar ../shared/data/icdar2015-train --out data/real-words

Writes OUT/train and OUT/val, each an images/ folder with labels.tsv. The validation part is fixed by
the lists in tools/splits/ (IIIT5K: 203 crops of whole source images; ICDAR 2015: img_901 ... img_1000)
and must never be trained on. ICDAR words are cut with the pipeline's own perspective crop
(ocr.crop.crop_quad). Skipped, and counted in the report: '###' (illegible) regions; words with a
character outside the recognizer's charset (spaces and non-ASCII letters among them); near-vertical
words (height >= 1.5 x width: mostly stacked letters, which a horizontal reader cannot learn from);
crops under 4 pixels on a side. Crops taller than 64 pixels are scaled down to 64 (the model's height).
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # use this checkout's packages

import cv2
import numpy as np

from synth.text import WORDS_CHARSET
from ocr.crop import crop_quad, quad_size
from recognizer.dataset import read_folder
from engine.images import load_image

SPLITS = Path(__file__).parent / "splits"
MAX_HEIGHT = 64


def split_names(name: str) -> set[str]:
    return set((SPLITS / name).read_text().split())


def fit_height(img: np.ndarray) -> np.ndarray:
    if img.shape[0] <= MAX_HEIGHT:
        return img
    w = max(1, round(img.shape[1] * MAX_HEIGHT / img.shape[0]))
    return cv2.resize(img, (w, MAX_HEIGHT), interpolation=cv2.INTER_AREA)


class Writer:
    def __init__(self, root: Path):
        self.root = root
        (root / "images").mkdir(parents=True, exist_ok=True)
        self.rows: list[str] = []

    def add(self, name: str, img: np.ndarray, text: str) -> None:
        cv2.imwrite(str(self.root / "images" / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        self.rows.append(f"{name}\t{text}\n")

    def close(self) -> None:
        (self.root / "labels.tsv").write_text("".join(self.rows), encoding="utf-8")


def icdar_words(folder: Path):
    """(image name, word index, points, text) for every word of a labels.jsonl folder."""
    path = folder / "labels.jsonl"
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            for k, word in enumerate(record["words"]):
                yield record["image"], k, np.asarray(word["points"], dtype=np.float32), word["text"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise SystemExit(f"error: {path}:{n}: malformed record ({e})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iiit5k", type=Path, help="IIIT5K folder (images/ + labels.tsv)")
    p.add_argument("--icdar", type=Path, help="ICDAR 2015 folder (images/ + labels.jsonl)")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    if not (a.iiit5k or a.icdar):
        p.error("give --iiit5k and/or --icdar")
    charset = set(WORDS_CHARSET)
    writers = {s: Writer(a.out / s) for s in ("train", "val")}
    counts: collections.Counter = collections.Counter()

    if a.iiit5k:
        held = split_names("iiit5k_val.txt")
        for s in read_folder(a.iiit5k, None):
            split = "val" if s.path.name in held else "train"
            if not set(s.text) <= charset:
                counts["iiit5k outside charset"] += 1
                continue
            try:
                image = load_image(s.path)
            except ValueError as e:
                print(f"warning: skipping {e}", file=sys.stderr)
                counts["iiit5k unreadable (skipped)"] += 1
                continue
            writers[split].add(f"iiit5k_{s.path.stem}.jpg", fit_height(image), s.text)
            counts[f"iiit5k {split}"] += 1

    if a.icdar:
        held = split_names("icdar2015_val.txt")
        images: dict[str, np.ndarray] = {}
        for image_name, k, quad, text in icdar_words(a.icdar):
            split = "val" if image_name in held else "train"
            if text == "###":
                counts["icdar ### (skipped)"] += 1
                continue
            if not set(text) <= charset:
                counts["icdar outside charset (skipped)"] += 1
                continue
            w, h = quad_size(quad)
            if h >= 1.5 * w:
                counts["icdar vertical (skipped)"] += 1
                continue
            if min(w, h) < 4:
                counts["icdar tiny (skipped)"] += 1
                continue
            if image_name not in images:
                folder = a.icdar / "images" if (a.icdar / "images").is_dir() else a.icdar
                try:
                    images = {image_name: load_image(folder / image_name)}  # words come grouped by image
                except ValueError as e:
                    print(f"warning: skipping {e}", file=sys.stderr)
                    images = {image_name: None}
            if images[image_name] is None:
                counts["icdar words of unreadable images (skipped)"] += 1
                continue
            crop = fit_height(crop_quad(images[image_name], quad))
            writers[split].add(f"ic15_{Path(image_name).stem}_{k}.jpg", crop, text)
            counts[f"icdar {split}"] += 1

    for w in writers.values():
        w.close()
    for key in sorted(counts):
        print(f"{key}: {counts[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
