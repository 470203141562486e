"""A zoo of captcha styles, for a general captcha model and for benchmarking `ocr-train` on styles it never saw.

    python tools/make_captcha_zoo.py --out data/zoo/wide-lines --style wide-lines -n 1000 --seed 1
    python tools/make_captcha_zoo.py --out data/zoo-sheet --style all -n 36 --seed 2 --sheet zoo.png
    python tools/make_captcha_zoo.py --out data/zoo-base --style package wide-lines warped upper-clear \
        --case any --length 3 10 -n 100000 --seed 3              # captcha-base's training stream

Styles (``--style``): ``package`` (the `captcha` package's look, several sizes and fonts), ``wide-lines``
(200-700 px wide, 80 high, 4 to 8 coloured letters in many fonts, crossing lines, much empty space),
``dotted`` (speckled background, dotted letters), ``warped`` (each letter turned and the row bent along a
sine), ``two-tone`` (photo or two-colour backgrounds, contrasting letters), ``upper-clear`` (upper case and
digits in faces where 0/O and 1/I differ). Files are named by their text (``<text>_<index>.png``), so a style's
folder trains directly with ``ocr-train``. A seed gives identical files for any number of workers.
"""
from __future__ import annotations

import math
import string
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synth.text import (Resources, background, find_files, find_photos, generator_arguments, renders_latin,  # noqa: E402
                        run_jobs, worker_resources)

STYLES = ("package", "wide-lines", "dotted", "warped", "two-tone", "upper-clear")
LOWER = string.digits + string.ascii_lowercase
UPPER = string.digits + string.ascii_uppercase
CLEAR_FACES = ("DejaVuSansMono", "DejaVuSansMono-Bold", "Inconsolata", "Inconsolata-Bold", "LiberationMono-Regular",
               "LiberationMono-Bold", "CourierPrime-Regular", "CourierPrime-Bold")


def _text(rng: np.random.Generator, pool: str, lo: int, hi: int) -> str:
    return "".join(pool[i] for i in rng.integers(0, len(pool), int(rng.integers(lo, hi + 1))))


def _colour(rng: np.random.Generator, dark: bool) -> tuple[int, int, int]:
    lo, hi = (0, 120) if dark else (150, 255)
    return tuple(int(v) for v in rng.integers(lo, hi, 3))


def _letters(canvas: Image.Image, text: str, fonts: list[str], rng: np.random.Generator, x0: int, size: int,
             spacing: float, dark: bool = True, turn: float = 0.0) -> None:
    """Each letter drawn apart, in its own font and colour, turned by up to ``turn`` degrees; the row is shrunk
    to fit the canvas, so no letter of the label is ever cut off."""
    layer = Image.new("RGBA", (len(text) * size * 2 + 16, canvas.height), (0, 0, 0, 0))
    x = 0
    for ch in text:
        font = ImageFont.truetype(fonts[int(rng.integers(len(fonts)))], size)
        left, top, right, bottom = font.getbbox(ch)
        tile = Image.new("L", (right - left + 8, bottom - top + 8), 0)
        ImageDraw.Draw(tile).text((4 - left, 4 - top), ch, font=font, fill=255)
        if turn:
            tile = tile.rotate(float(rng.uniform(-turn, turn)), expand=True, resample=Image.BICUBIC)
        if tile.height > canvas.height:
            tile = tile.resize((max(1, tile.width * canvas.height // tile.height), canvas.height))
        y = int(np.clip((canvas.height - tile.height) / 2 + rng.uniform(-0.12, 0.12) * canvas.height, 0,
                        canvas.height - tile.height))
        layer.paste(Image.new("RGBA", tile.size, _colour(rng, dark) + (255,)), (x, y), tile)
        x += max(1, int(tile.width * spacing))
    used = layer.crop((0, 0, max(1, x + size // 3), canvas.height))
    room = canvas.width - x0 - 4
    if used.width > room:  # too long for the canvas: narrower letters rather than lost ones
        used = used.resize((max(1, room), canvas.height), Image.LANCZOS)
    canvas.paste(used, (x0, 0), used)


def render(style: str, text: str, rng: np.random.Generator, fonts: list[str], photos: tuple[str, ...]) -> np.ndarray:
    if style == "package":
        w, h = int(rng.choice([160, 200, 240])), int(rng.choice([60, 70, 80]))
        img = Image.new("RGB", (w, h), _colour(rng, dark=False))
        _letters(img, text, fonts, rng, int(w * 0.06), int(h * 0.7), 0.78, turn=25)
        arr = np.asarray(img).copy()
        for _ in range(int(rng.integers(20, 60))):  # the package's dots and a curve through the letters
            cv2.circle(arr, (int(rng.integers(w)), int(rng.integers(h))), int(rng.integers(1, 3)), _colour(rng, True), -1)
        xs = np.arange(w)
        ys = (h / 2 + h / 5 * np.sin(xs / w * rng.uniform(2, 6) + rng.uniform(0, 6))).astype(np.int32)
        cv2.polylines(arr, [np.stack([xs, ys], 1).reshape(-1, 1, 2)], False, _colour(rng, True), int(rng.integers(1, 4)))
        return arr
    if style == "wide-lines":
        w, h = int(rng.integers(200, 701)), 80
        img = Image.new("RGB", (w, h), _colour(rng, dark=False))
        size = int(rng.integers(30, 52))
        _letters(img, text, fonts, rng, int(rng.integers(5, max(6, w - len(text) * size * 3 // 4))), size, 1.0, turn=10)
        arr = np.asarray(img).copy()
        for _ in range(int(rng.integers(2, 8))):
            p, q = (int(rng.integers(w)), int(rng.integers(h))), (int(rng.integers(w)), int(rng.integers(h)))
            cv2.line(arr, p, q, _colour(rng, bool(rng.random() < 0.5)), int(rng.integers(1, 3)), cv2.LINE_AA)
        return arr
    if style == "dotted":
        w, h = 200, 64
        arr = np.full((h, w, 3), _colour(rng, dark=False), np.uint8)
        noise = rng.random((h, w)) < rng.uniform(0.05, 0.2)
        arr[noise] = rng.integers(0, 256, (int(noise.sum()), 3))
        img = Image.fromarray(arr)
        mask = Image.new("L", (w, h), 0)
        font = ImageFont.truetype(fonts[int(rng.integers(len(fonts)))], 44)
        ImageDraw.Draw(mask).text((10, 4), text, font=font, fill=255)
        dots = np.asarray(mask) > 0
        dots &= rng.random((h, w)) < rng.uniform(0.45, 0.8)  # the letters break into dots
        out = np.asarray(img).copy()
        out[dots] = _colour(rng, dark=True)
        return out
    if style == "warped":
        w, h = 180, 64
        img = Image.new("RGB", (w, h), _colour(rng, dark=False))
        _letters(img, text, fonts, rng, 8, 40, 0.85, turn=40)
        arr = np.asarray(img)
        amp, period, phase = rng.uniform(3, 8), rng.uniform(40, 120), rng.uniform(0, 2 * math.pi)
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        ys = ys + amp * np.sin(xs / period * 2 * math.pi + phase)
        return cv2.remap(arr, xs, ys.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if style == "two-tone":
        w, h = 170, 60
        if photos and rng.random() < 0.5:
            bg = background(rng, photos, h, w).astype(np.uint8)
        else:
            bg = np.zeros((h, w, 3), np.uint8)
            bg[:, : int(rng.integers(w // 3, 2 * w // 3))] = _colour(rng, dark=False)
            bg[bg.sum(axis=2) == 0] = np.array(_colour(rng, dark=True))
        img = Image.fromarray(bg)
        bright = bg.mean() < 128
        _letters(img, text, fonts, rng, 8, 40, 0.9, dark=not bright, turn=15)
        return np.asarray(img)
    w, h = 160, 60  # upper-clear
    img = Image.new("RGB", (w, h), _colour(rng, dark=False))
    clear = [f for f in fonts if Path(f).stem in CLEAR_FACES] or fonts
    _letters(img, text, clear, rng, 8, 38, 0.95, turn=8)
    arr = np.asarray(img).copy()
    for _ in range(int(rng.integers(1, 4))):
        cv2.line(arr, (0, int(rng.integers(h))), (w, int(rng.integers(h))), _colour(rng, True), 1, cv2.LINE_AA)
    return arr


POOLS = {"lower": LOWER, "upper": UPPER, "mixed": string.digits + string.ascii_letters}


def make_one(args) -> tuple[str, str, str]:
    index, out, seed, styles, case, lengths = args
    rng = np.random.default_rng([seed, index])
    style = styles[index % len(styles)]
    res = worker_resources()
    if case == "any":
        case = str(rng.choice(list(POOLS)))
    pool = POOLS[case] if case != "style" else UPPER if style == "upper-clear" else LOWER
    lo, hi = lengths or ((4, 8) if style == "wide-lines" else (4, 6))
    text = _text(rng, pool, lo, hi)
    img = render(style, text, rng, list(res.fonts), res.photos)
    name = f"{text}_{index:07d}.png"
    cv2.imwrite(str(Path(out) / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return name, text, style


def main(argv=None) -> int:
    p = generator_arguments(__doc__, 1000, "images named by their text")
    p.add_argument("--style", nargs="+", choices=STYLES + ("all",), default=["all"],
                   help="styles, taken in turn (default all)")
    p.add_argument("--fonts", nargs="+", default=["/usr/share/fonts"], help="folders searched for .ttf/.otf")
    p.add_argument("--photos", nargs="+", default=["/usr/share/wallpapers", "/usr/share/backgrounds"])
    p.add_argument("--sheet", help="also write a sample sheet of the first 36 images (PNG)")
    p.add_argument("--case", choices=("style", "lower", "upper", "mixed", "any"), default="style",
                   help="letters of each style's own case (default), one case, or any of them per image")
    p.add_argument("--length", nargs=2, type=int, metavar=("MIN", "MAX"),
                   help="label lengths (default: the style's own, 4 to 6, wide-lines 4 to 8)")
    a = p.parse_args(argv)
    fonts = tuple(f for f in find_files(a.fonts, {".ttf", ".otf"}) if renders_latin(f))
    if not fonts:
        raise SystemExit(f"error: no usable fonts under {', '.join(a.fonts)}")
    styles = STYLES if "all" in a.style else tuple(a.style)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    res = Resources(words=(), fonts=fonts, photos=tuple(find_photos(a.photos)))
    if a.length and not 1 <= a.length[0] <= a.length[1]:
        raise SystemExit(f"error: --length {a.length[0]} {a.length[1]}: expected 1 <= MIN <= MAX")
    jobs = [(i, str(out), a.seed, styles, a.case, a.length) for i in range(a.count)]
    rows = run_jobs(make_one, jobs, res, a.workers, "captchas", 64)
    if a.sheet:
        tiles = [cv2.resize(cv2.cvtColor(cv2.imread(str(out / name)), cv2.COLOR_BGR2RGB), (200, 64))
                 for name, _, _ in rows[:36]]
        tiles += [np.full_like(tiles[0], 255)] * (-len(tiles) % 6)
        Image.fromarray(np.vstack([np.hstack(tiles[i : i + 6]) for i in range(0, len(tiles), 6)])).save(a.sheet)
    print(f"wrote {a.count} captchas ({', '.join(styles)}) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
