"""Real word crops for the recognizer: IIIT5K crops, and words cut from ICDAR 2015 photos and FUNSD forms.

    python tools/prepare_real_words.py --iiit5k ../shared/data/iiit5k-train --icdar ../shared/data/icdar2015-train \
        --funsd ../shared/data/funsd-train --out data/real-words

Writes labels.tsv folders: OUT/train (every IIIT5K training crop; ICDAR 2015 img_1 ... img_900 cut both ways,
with the pipeline's perspective crop of each quadrilateral and with its axis-aligned bounding box as the
benchmarks' crops are cut; FUNSD words by their boxes) and, never to be trained on, OUT/val-ic15-quad and
OUT/val-ic15-box (ICDAR 2015 img_901 ... img_1000, tools/splits/icdar2015_val.txt, cut the same two ways)
and OUT/val-funsd-box (the 20 FUNSD forms of tools/splits/funsd_val.txt, drawn once with seed 2026, which the
document detector holds out too). ``--pages`` cuts every word of synthetic pages (tools/make_pages.py folders) into
OUT/pages, apart from the real words so that a run can weigh them on their own: small print on paper, which
scene-text crops lack.
The other validation sets are svt-train and icdar2003-train as they come. Skipped, and counted in the report:
'###' (illegible) regions; words with a character outside the words charset (spaces among them); near-vertical
words (height >= 1.5 x width: mostly stacked letters); crops under 4 pixels on a side. Crops taller than 64
pixels are scaled down to 64 (the model's height).
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

from engine.images import load_image
from ocr.crop import crop_quad, quad_size
from recognizer.dataset import read_folder
from synth.text import WORDS_CHARSET

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


def box_crop(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quadrilateral's axis-aligned bounding box, clipped to the image (a rotated word stays rotated inside)."""
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    h, w = image.shape[:2]
    return image[max(0, y0) : min(h, y1 + 1), max(0, x0) : min(w, x1 + 1)]


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


def photo_words(a, folder: Path, tag: str, held: set[str], writers: dict, counts, both_ways: bool,
                target: str = "train") -> None:
    """Cut every usable word of a labels.jsonl folder: training words into ``target``, held-out images' into val."""
    charset = set(WORDS_CHARSET)
    images: dict[str, np.ndarray | None] = {}
    for image_name, k, quad, text in icdar_words(folder):
        split = "val" if image_name in held else "train"
        if text == "###" or not text:
            counts[f"{tag} ### or empty (skipped)"] += 1
            continue
        if not set(text) <= charset:
            counts[f"{tag} outside charset (skipped)"] += 1
            continue
        w, h = quad_size(quad)
        if h >= 1.5 * w and len(text) > 1:
            counts[f"{tag} vertical (skipped)"] += 1
            continue
        if min(w, h) < 4:
            counts[f"{tag} tiny (skipped)"] += 1
            continue
        if image_name not in images:
            root = folder / "images" if (folder / "images").is_dir() else folder
            try:
                images = {image_name: load_image(root / image_name)}  # words come grouped by image
            except ValueError as e:
                print(f"warning: skipping {e}", file=sys.stderr)
                images = {image_name: None}
        image = images[image_name]
        if image is None:
            counts[f"{tag} words of unreadable images (skipped)"] += 1
            continue
        name = f"{tag}_{Path(image_name).stem}_{k}"
        cuts = {"quad": crop_quad(image, quad), "box": box_crop(image, quad)} if both_ways else {"box": box_crop(image, quad)}
        for way, crop in cuts.items():
            out = f"val-{tag}-{way}" if split == "val" else target
            writers[out].add(f"{name}_{way}.jpg", fit_height(crop), text)
            counts[f"{tag} {out}"] += 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iiit5k", type=Path, help="IIIT5K folder (images/ + labels.tsv)")
    p.add_argument("--icdar", type=Path, help="ICDAR 2015 folder (images/ + labels.jsonl)")
    p.add_argument("--funsd", type=Path, help="FUNSD folder (images/ + labels.jsonl)")
    p.add_argument("--pages", type=Path, nargs="+", default=[], help="make_pages.py folders (images/ + labels.jsonl)")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    if not (a.iiit5k or a.icdar or a.funsd or a.pages):
        p.error("give --iiit5k, --icdar, --funsd and/or --pages")
    if len({f.name for f in a.pages}) < len(a.pages):  # the folder's name prefixes its crops' file names
        p.error("--pages folders must have different names: " + " ".join(map(str, a.pages)))
    targets = ("train", "val-ic15-quad", "val-ic15-box", "val-funsd-box") if a.iiit5k or a.icdar or a.funsd else ()
    writers = {s: Writer(a.out / s) for s in targets + (("pages",) if a.pages else ())}
    counts: collections.Counter = collections.Counter()
    if a.iiit5k:
        for s in read_folder(a.iiit5k, None):
            if not set(s.text) <= set(WORDS_CHARSET):
                counts["iiit5k outside charset (skipped)"] += 1
                continue
            try:
                image = load_image(s.path)
            except ValueError as e:
                print(f"warning: skipping {e}", file=sys.stderr)
                counts["iiit5k unreadable (skipped)"] += 1
                continue
            writers["train"].add(f"iiit5k_{s.path.stem}.jpg", fit_height(image), s.text)
            counts["iiit5k train"] += 1
    if a.icdar:
        photo_words(a, a.icdar, "ic15", split_names("icdar2015_val.txt"), writers, counts, both_ways=True)
    if a.funsd:
        photo_words(a, a.funsd, "funsd", split_names("funsd_val.txt"), writers, counts, both_ways=False)
    for folder in a.pages:
        photo_words(a, folder, folder.name, set(), writers, counts, both_ways=False, target="pages")
    for w in writers.values():
        w.close()
    for key in sorted(counts):
        print(f"{key}: {counts[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
