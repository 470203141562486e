"""Synthetic scenes for the detector: words drawn onto photos and textures, with exact quadrilaterals.

    python tools/make_scenes.py --out data/scenes -n 5000 --seed 1 --workers 2

Each scene is a JPEG under OUT/images/ with its words in OUT/labels.jsonl (points clockwise from each
word's top-left, as the ICDAR 2015 data). Words, fonts and photos come from the same sources as
tools/make_words.py (Debian's wamerican, fonts-* and wallpaper packages; see the README), and the tool fails
clearly without them. Words are placed without overlapping, at many sizes (ink 10 to 70 pixels tall),
rotated up to 30 degrees and tilted in perspective; the scene is then blurred, noised and JPEG-compressed.
A seed gives identical files for any number of workers.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

import synth.text as mw  # noqa: E402


def place_word(canvas: np.ndarray, occupied: np.ndarray, text: str, font_path: str,
               rng: np.random.Generator) -> np.ndarray | None:
    """Draw one word onto ``canvas`` (float32 RGB) where ``occupied`` is free; returns its quad or None."""
    h, w = canvas.shape[:2]
    size = int(rng.integers(12, 80))
    font = ImageFont.truetype(font_path, size)
    pad = size // 2
    mask = mw.text_mask(text, font, pad)
    mh, mw_ = mask.shape
    src = np.float32([[pad, pad], [mw_ - pad, pad], [mw_ - pad, mh - pad], [pad, mh - pad]])  # the ink box
    angle = np.radians(rng.normal(0, 12) if rng.random() < 0.6 else 0.0)
    rot = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.float32([[0, 0], [mw_, 0], [mw_, mh], [0, mh]])
    warped = (corners - [mw_ / 2, mh / 2]) @ rot.T + rng.uniform(-0.06, 0.06, (4, 2)).astype(np.float32) * mh
    warped -= warped.min(axis=0)
    out_w, out_h = int(np.ceil(warped[:, 0].max())) + 1, int(np.ceil(warped[:, 1].max())) + 1
    if out_w >= w or out_h >= h:
        return None
    m = cv2.getPerspectiveTransform(corners, warped.astype(np.float32))
    glyphs = cv2.warpPerspective(mask, m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    quad = cv2.perspectiveTransform(src[None], m)[0]
    for _ in range(10):  # a few tries at a free spot
        x, y = int(rng.integers(0, w - out_w)), int(rng.integers(0, h - out_h))
        if not occupied[y : y + out_h, x : x + out_w].any():
            break
    else:
        return None
    region = canvas[y : y + out_h, x : x + out_w]
    colour = mw.contrasting_colour(rng, region.reshape(-1, 3).mean(axis=0))
    alpha = glyphs[..., None]
    canvas[y : y + out_h, x : x + out_w] = region * (1 - alpha) + colour * alpha
    occupied[y : y + out_h, x : x + out_w] = True
    return quad + [x, y]


def make_scene(index: int, seed: int, plain: bool, res: mw.Resources) -> tuple[np.ndarray, list[dict]]:
    rng = np.random.default_rng([seed, index])
    h, w = int(rng.integers(480, 800)), int(rng.integers(640, 1100))
    canvas = np.full((h, w, 3), 200.0, np.float32) if plain else mw.background(rng, res.photos, h, w)
    occupied = np.zeros((h, w), bool)
    words = []
    for _ in range(int(rng.integers(3, 16))):
        text = mw.random_text(rng, res.words)
        quad = place_word(canvas, occupied, text, res.fonts[int(rng.integers(len(res.fonts)))], rng)
        if quad is not None:
            words.append({"points": np.round(quad, 1).tolist(), "text": text})
    image = np.clip(canvas, 0, 255).astype(np.uint8)
    if not plain:
        image = mw.degrade(image, rng)
    return image, words


def _work(args):
    index, out, seed, plain = args
    image, words = make_scene(index, seed, plain, mw.worker_resources())
    name = f"scene_{index:07d}.jpg"
    cv2.imwrite(str(Path(out) / "images" / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return {"image": name, "words": words}


def main(argv=None) -> int:
    p = mw.generator_arguments(__doc__, 1000, "labels.jsonl")
    p.add_argument("--words", default=mw.DEFAULT_WORDS)
    p.add_argument("--fonts", nargs="+", default=mw.DEFAULT_FONT_DIRS)
    p.add_argument("--photos", nargs="+", default=mw.DEFAULT_PHOTO_DIRS)
    p.add_argument("--plain", action="store_true", help="flat grey backgrounds, no degradation (to check labels)")
    a = p.parse_args(argv)
    if a.count < 1:
        p.error("--count must be at least 1")
    res = mw.load_resources(a.words, a.fonts, a.photos)
    out = Path(a.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    jobs = [(i, str(out), a.seed, a.plain) for i in range(a.count)]
    records = mw.run_jobs(_work, jobs, res, a.workers, "scenes", chunksize=8)
    with open(out / "labels.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    print(f"wrote {a.count} scenes with {sum(len(r['words']) for r in records)} words to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
