"""Synthetic word crops for the scene-text recognizer, written as a labels.tsv folder.

    python tools/make_words.py --out data/words-synth -n 200000 --seed 1 --workers 2

Words come from a word list (Debian's wamerican: /usr/share/dict/american-english) plus digit strings,
codes and punctuation, in lower, Title and UPPER case; each is drawn with a random font on a crop of a
real photograph or a flat or gradient fill, then bent, tilted, blurred, noised and JPEG-compressed, and
cut loosely or tightly as a detector would. A seed gives identical files for any number of workers.

Needs (Debian): wamerican, fonts-* packages (see README: "Synthetic words"), and wallpaper packages that
hold real photographs (plasma-workspace-wallpapers, mate-backgrounds, lomiri-wallpapers-16.04). Fonts and
photos are looked up under /usr/share/fonts and /usr/share/{wallpapers,backgrounds}; --fonts and --photos
point elsewhere.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

import cv2
import numpy as np

from synth.text import (as_drawn, generator_arguments, DEFAULT_FONT_DIRS, DEFAULT_PHOTO_DIRS, DEFAULT_WORDS, OUT_HEIGHT, load_resources, pick_font,
                        random_text, render, short_text, render_plain, run_jobs, worker_resources)


def make_one(args) -> tuple[str, str]:
    index, out, seed, plain, short = args
    rng = np.random.default_rng([seed, index])
    res = worker_resources()
    while True:  # a text some font draws whole, and visibly (a thin font's lone '-' can vanish when warped)
        text = short_text(rng) if short and rng.random() < short else random_text(rng, res.words, res.foreign)
        font = pick_font(rng, res, text)
        if font is None:
            continue
        text = as_drawn(res, font, text)
        if plain:
            img = render_plain(text, res.fonts[font])
            break
        context = None
        if rng.random() < 0.2:  # neighbours on the line, partly inside a loose crop
            context = (random_text(rng, res.words), random_text(rng, res.words))
            if res.glyphs and not set("".join(context)) <= res.glyphs[font]:
                context = None
        try:
            img = render(text, res.fonts[font], res.photos, rng, context)
            break
        except ValueError:  # nothing visible was drawn: draw another text
            continue
    if img.shape[0] > OUT_HEIGHT:
        scale = OUT_HEIGHT / img.shape[0]
        img = cv2.resize(img, (max(1, round(img.shape[1] * scale)), OUT_HEIGHT), interpolation=cv2.INTER_AREA)
    name = f"{index:08d}.jpg"
    cv2.imwrite(str(Path(out) / "images" / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 95])
    return name, text


def main(argv=None) -> int:
    p = generator_arguments(__doc__, 10000)
    p.add_argument("--words", default=DEFAULT_WORDS, help=f"word list, one per line (default {DEFAULT_WORDS})")
    p.add_argument("--fonts", nargs="+", default=DEFAULT_FONT_DIRS, help="folders searched for .ttf/.otf")
    p.add_argument("--photos", nargs="+", default=DEFAULT_PHOTO_DIRS, help="folders searched for photographs")
    p.add_argument("--short", type=float, default=0.0, metavar="SHARE",
                   help="share of texts of one to three characters: a letter, digit, sign or common short word "
                        "(default 0: the word stream alone gives 2 %%)")
    p.add_argument("--plain", action="store_true", help="no distortions: black text on white (to check labels)")
    a = p.parse_args(argv)
    if a.count < 1:
        p.error("--count must be at least 1")
    if not 0 <= a.short <= 1:
        p.error("--short must be between 0 and 1")
    res = load_resources(a.words, a.fonts, a.photos)
    print(f"{len(res.words)} words, {sum(map(len, res.foreign))} foreign words in {len(res.foreign)} languages, "
          f"{len(res.fonts)} fonts, {len(res.photos)} photos",
          file=sys.stderr)
    out = Path(a.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    jobs = [(i, str(out), a.seed, a.plain, a.short) for i in range(a.count)]
    rows = run_jobs(make_one, jobs, res, a.workers, "words", chunksize=64)
    with open(out / "labels.tsv", "w", encoding="utf-8") as f:
        f.writelines(f"{name}\t{text}\n" for name, text in rows)
    print(f"wrote {a.count} word crops to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
