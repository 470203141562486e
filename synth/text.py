"""Synthetic text shared by the generators (tools/make_words.py, tools/make_scenes.py): words, fonts, photos,
rendering and degradation. Repository-only (not installed); it uses only the recognizer's charset.

Needs (Debian): wamerican and the word lists of other Latin-script languages (wfrench, wngerman, wspanish,
witalian, wportuguese, wpolish, wdutch, wswedish: their accented words), fonts-* packages (see README:
"Scene-text words"), and wallpaper packages that hold real photographs (plasma-workspace-wallpapers,
mate-backgrounds, lomiri-wallpapers-16.04). Fonts and photos are looked up under /usr/share/fonts and
/usr/share/{wallpapers,backgrounds}. fontTools (PyPI) tells which characters each font draws.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from recognizer.charset import LATIN

WORDS_CHARSET = LATIN  # every label the generators write fits the words readers' charset
DEFAULT_WORDS = "/usr/share/dict/american-english"
FOREIGN_WORDS = ["french", "ngerman", "spanish", "italian", "portuguese", "polish", "dutch", "swedish"]
DEFAULT_FONT_DIRS = ["/usr/share/fonts"]
DEFAULT_PHOTO_DIRS = ["/usr/share/wallpapers", "/usr/share/backgrounds"]
MAX_LEN = 22  # fits 32 time steps with room for repeated letters
OUT_HEIGHT = 64  # crops taller than this are scaled down: the recognizer reads 64 rows anyway


@dataclass(frozen=True)
class Resources:
    words: tuple[str, ...]
    fonts: tuple[str, ...]
    photos: tuple[str, ...]
    foreign: tuple[tuple[str, ...], ...] = ()  # per other language, its words that hold a letter beyond ASCII
    glyphs: tuple[frozenset, ...] = ()  # per font, the characters it draws (empty: all of WORDS_CHARSET)
    caps: tuple[bool, ...] = ()  # per font, whether it draws lower-case letters as capitals (see caps_only)


def load_words(path: str) -> tuple[str, ...]:
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="ignore").split()
    except FileNotFoundError:
        raise SystemExit(f"error: word list {path} not found: apt-get install wamerican, or pass --words FILE")
    words = sorted({w for w in lines if w.isascii() and w.isalpha() and 1 <= len(w) <= MAX_LEN})
    if not words:
        raise SystemExit(f"error: {path}: no usable words")
    return tuple(words)


def load_foreign_words(dict_dir: str = "/usr/share/dict") -> tuple[tuple[str, ...], ...]:
    """Per installed list of another language, its words with a letter beyond ASCII (kept apart so that each
    language is drawn as often, however long its list)."""
    languages = [accented_words(Path(dict_dir) / name) for name in FOREIGN_WORDS if (Path(dict_dir) / name).is_file()]
    return tuple(words for words in languages if words)


def accented_words(path: Path) -> tuple[str, ...]:
    """The words of one list that have a letter beyond ASCII and fit the recognizer, sorted."""
    words = {w for w in path.read_text(encoding="utf-8", errors="ignore").split()
             if not w.isascii() and w.isalpha() and len(w) <= MAX_LEN and set(w) <= set(WORDS_CHARSET)}
    return tuple(sorted(words))


def font_glyphs(path: str) -> frozenset:
    """The characters of WORDS_CHARSET that a font maps to a glyph (fontTools reads its cmap)."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        raise SystemExit("error: the generators need fontTools: pip install 'crnn-ocr[synth]' (or fonttools)") from None

    try:
        with TTFont(path, lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except Exception:  # a font fontTools cannot parse: trust it with ASCII only
        return frozenset(c for c in WORDS_CHARSET if c.isascii())
    return frozenset(c for c in WORDS_CHARSET if ord(c) in cmap)


def caps_only(path: str) -> bool:
    """Faces that draw each lower-case letter as its capital (Bebas Neue): what they draw reads upper-case, so
    the label must too (a page in one such face once made half of a validation set's misreads)."""
    font = ImageFont.truetype(path, 32)
    return all(bytes(font.getmask(c)) == bytes(font.getmask(c.upper())) for c in "abdegr")


def as_drawn(res: "Resources", font: int, text: str) -> str:
    """``text`` as font number ``font`` draws it: upper-cased by a caps-only face."""
    return text.upper() if res.caps and res.caps[font] else text


# Faces that map Latin letters to other shapes (Greek, dingbats): they pass the test below but draw no words.
SYMBOL_FACES = ("D050000L", "StandardSymbolsPS", "Symbol", "Dingbat")


def renders_latin(path: str) -> bool:
    """Drop fonts without Latin letters or digits (symbol and non-Latin faces draw boxes or nothing)."""
    if any(face.lower() in Path(path).stem.lower() for face in SYMBOL_FACES):
        return False
    try:
        font = ImageFont.truetype(path, 24)
        masks = [bytes(font.getmask(c)) for c in "aeg4RQ"]
    except OSError:
        return False
    return all(masks) and len(set(masks)) == len(masks)


def find_files(dirs: list[str], suffixes: set[str]) -> list[str]:
    found = []
    for d in dirs:
        if Path(d).is_dir():
            found += [str(p) for p in Path(d).rglob("*") if p.suffix.lower() in suffixes and p.is_file()]
    return sorted(set(found))


def find_photos(dirs: list[str], min_side: int = 600) -> list[str]:
    """Photographs are large JPEGs; abstract wallpapers in those packages are mostly PNG or SVG."""
    photos = []
    for path in find_files(dirs, {".jpg", ".jpeg"}):
        try:
            with Image.open(path) as im:
                if min(im.size) >= min_side:
                    photos.append(path)
        except OSError:
            continue
    return photos


def _digits(rng: np.random.Generator, k: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, k))


def _number(rng: np.random.Generator) -> str:
    """Prices, dates, times, measures, phone numbers and plain numbers, as signs and shops write them."""
    n = lambda lo, hi: _digits(rng, int(rng.integers(lo, hi)))  # noqa: E731
    forms = [n(1, 7), f"{n(1, 4)}.{n(2, 3)}", f"{n(1, 4)},{n(2, 3)}", f"{n(2, 3)}:{n(2, 3)}", f"{n(3, 4)}-{n(4, 5)}",
             f"${n(1, 4)}", f"${n(1, 3)},{n(3, 4)}.{n(2, 3)}", f"€{n(1, 4)},{n(2, 3)}", f"{n(1, 4)},{n(2, 3)}€",
             f"£{n(1, 3)}.{n(2, 3)}", f"{n(1, 3)}%", f"{n(1, 3)}°C", f"{n(1, 3)}°", f"{n(1, 3)}/{n(1, 3)}/{n(2, 5)}",
             f"{n(4, 5)}-{n(2, 3)}-{n(2, 3)}", f"+{n(1, 3)}", f"#{n(1, 5)}", f"{n(1, 3)}km", f"{n(1, 4)}kg",
             f"({n(3, 4)})", f"{n(1, 3)}{rng.choice(['st', 'nd', 'rd', 'th'])}", f"{n(1, 3)}:{n(2, 3)}pm",
             f"{n(1, 4)}×{n(1, 4)}", f"{n(1, 3)}-{n(1, 3)}", f"{n(1, 3)}–{n(1, 3)}"]
    return forms[int(rng.integers(len(forms)))]


def _address(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    w = lambda: words[int(rng.integers(len(words)))].lower()  # noqa: E731
    forms = [f"{w()}@{w()}.com", f"www.{w()}.org", f"{w()}.{rng.choice(['com', 'net', 'de', 'fr', 'co.uk'])}",
             f"@{w()}", f"#{w()}", f"{w()}_{w()}", f"{w()}/{w()}", f"https://{w()}.com", f"{w()}-{w()}"]
    return forms[int(rng.integers(len(forms)))]


def random_text(rng: np.random.Generator, words: tuple[str, ...], foreign: tuple[tuple[str, ...], ...] = ()) -> str:
    """A word as scenes and pages show it: English or foreign words in any case, numbers, codes, addresses."""
    kind = rng.random()
    if kind < 0.12:
        return _number(rng)[:MAX_LEN]
    if kind < 0.18:  # codes: letters and digits mixed, sometimes with a separator
        pool = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + ("-/." if rng.random() < 0.3 else "")
        return "".join(pool[i] for i in rng.integers(0, len(pool), int(rng.integers(2, 9))))
    if kind < 0.22:
        return _address(rng, words)[:MAX_LEN]
    pool = foreign[int(rng.integers(len(foreign)))] if foreign and kind < 0.36 else words
    word = pool[int(rng.integers(len(pool)))]
    case = rng.random()
    word = word.lower() if case < 0.45 else word.upper() if case < 0.75 else word.capitalize()
    if rng.random() < 0.18:
        word = word + str(rng.choice([".", ",", "!", "?", ":", ";", "'s", "-", "’s", "…", ")", "*"]))
    elif rng.random() < 0.07:
        left, right = [("(", ")"), ('"', '"'), ("'", "'"), ("[", "]"), ("“", "”"), ("«", "»"), ("‘", "’"),
                       ("¿", "?"), ("¡", "!")][int(rng.integers(9))]
        word = left + word + right
    return word[:MAX_LEN]


# The commonest short words of English text and signs: a uniform draw from a word list almost never gives them,
# while about a quarter of the words in scene photos have one to three characters (ICDAR 2003: 26 %).
SHORT_WORDS = tuple("""a I an as at be by do go he if in is it me my no of on or so to up us we am oh ok
the and for you not are but all any can had her was one our out day get has him his how man new now old see
two way who boy did its let put say she too use yes off end big per via bar car sun top hot eat men run
job box buy sit pay win red six ten fax tel inn pub spa gym zoo ave""".split())
SHORT_SIGNS = "&@#$%!?+*/-=:()"


def short_text(rng: np.random.Generator) -> str:
    """One to three characters as scenes show them alone: a letter, a digit, a sign, or a common short word."""
    kind = rng.random()
    if kind < 0.35:
        return "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[int(rng.integers(52))]
    if kind < 0.5:
        return _digits(rng, int(rng.integers(1, 3)))
    if kind < 0.58:
        return SHORT_SIGNS[int(rng.integers(len(SHORT_SIGNS)))]
    word = SHORT_WORDS[int(rng.integers(len(SHORT_WORDS)))]
    case = rng.random()
    return word.lower() if case < 0.45 else word.upper() if case < 0.75 else word.capitalize()


def pick_font(rng: np.random.Generator, res: Resources, text: str, tries: int = 30) -> int | None:
    """The index of a random font that draws every character of ``text``; None when ``tries`` fonts do not."""
    need = set(text)
    for _ in range(tries):
        i = int(rng.integers(len(res.fonts)))
        if not res.glyphs or need <= res.glyphs[i]:
            return i
    return None


_PHOTO_CACHE: dict[str, np.ndarray] = {}


def load_photo(path: str, max_side: int = 1024) -> np.ndarray:
    """A photo as RGB uint8 at most ``max_side`` pixels across, decoded once per process."""
    if path not in _PHOTO_CACHE:
        with Image.open(path) as im:
            im.draft("RGB", (max_side, max_side))  # JPEG decodes straight to a reduced size
            im = im.convert("RGB")
            im.thumbnail((max_side, max_side))
            _PHOTO_CACHE[path] = np.asarray(im)
    return _PHOTO_CACHE[path]


def background(rng: np.random.Generator, photos: tuple[str, ...], h: int, w: int) -> np.ndarray:
    """RGB float32 (h, w, 3): a random crop of a photo, a flat colour, or a gradient."""
    kind = rng.random()
    if photos and kind < 0.55:
        photo = load_photo(photos[int(rng.integers(len(photos)))])
        # A window of the photo seen at a random zoom: cut the source region first, then resize it.
        zoom = rng.uniform(1.0, 3.0)
        ch, cw = min(photo.shape[0], max(1, int(h * zoom))), min(photo.shape[1], max(1, int(w * zoom)))
        y, x = int(rng.integers(0, photo.shape[0] - ch + 1)), int(rng.integers(0, photo.shape[1] - cw + 1))
        return cv2.resize(photo[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    a = rng.uniform(0, 255, 3).astype(np.float32)
    if kind < 0.8:
        return np.broadcast_to(a, (h, w, 3)).copy()
    b = rng.uniform(0, 255, 3).astype(np.float32)
    t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
    t = t[None, :, None] if t.shape[0] == w else t[:, None, None]
    return np.broadcast_to(a + (b - a) * t, (h, w, 3)).copy()


def contrasting_colour(rng: np.random.Generator, bg_mean: np.ndarray) -> np.ndarray:
    """A colour whose luminance differs from the background's by at least 70 (of 255)."""
    lum = lambda c: float(c @ np.array([0.299, 0.587, 0.114]))  # noqa: E731
    for _ in range(20):
        c = rng.uniform(0, 255, 3)
        if abs(lum(c) - lum(bg_mean)) >= 70:
            return c
    return np.zeros(3) if lum(bg_mean) > 127 else np.full(3, 255.0)


def text_mask(text: str, font: ImageFont.FreeTypeFont, pad: int, stroke: int = 0) -> np.ndarray:
    """Float32 coverage (0..1) of the text drawn with its ink box ``pad`` pixels from every edge."""
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    canvas = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(canvas).text((pad - left, pad - top), text, font=font, fill=255, stroke_width=stroke,
                                stroke_fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def warp(mask: np.ndarray, rng: np.random.Generator, big_angle: bool = False) -> np.ndarray:
    """Curvature, perspective and rotation applied to a coverage mask (output keeps the ink inside).

    ``big_angle``: turned by up to 25 degrees, as a rotated word sits in the axis-aligned box that the
    benchmarks' crops cut."""
    h, w = mask.shape
    if rng.random() < 0.15:  # bend the baseline along a sine arc
        amp = rng.uniform(0.05, 0.2) * h
        xs = np.arange(w, dtype=np.float32)
        shift = (amp * np.sin(np.pi * xs / w + rng.uniform(-0.5, 0.5))).astype(np.float32)
        pad = int(math.ceil(amp)) + 1
        mask = cv2.copyMakeBorder(mask, pad, pad, 0, 0, cv2.BORDER_CONSTANT, 0)
        map_x = np.broadcast_to(xs, mask.shape).astype(np.float32)
        map_y = (np.arange(mask.shape[0], dtype=np.float32)[:, None] + shift[None, :] - amp / 2).astype(np.float32)
        mask = cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR, borderValue=0)
        h, w = mask.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-0.08, 0.08, (4, 2)) * [h, h]
    angle = math.radians(rng.uniform(-25, 25) if big_angle else rng.normal(0, 2.5))
    c, s = math.cos(angle), math.sin(angle)
    centred = src - [w / 2, h / 2] + jitter
    dst = (centred @ np.float32([[c, s], [-s, c]])).astype(np.float32)
    dst -= dst.min(axis=0)
    out_w, out_h = int(math.ceil(dst[:, 0].max())) + 1, int(math.ceil(dst[:, 1].max())) + 1
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    return cv2.warpPerspective(mask, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=0)


def render_plain(text: str, font_path: str, size: int = 40) -> np.ndarray:
    """The word with every distortion off: black on white, its ink box size // 4 pixels from each edge."""
    mask = text_mask(text, ImageFont.truetype(font_path, size), pad=size // 4)
    gray = np.round(255 * (1 - mask)).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def render(text: str, font_path: str, photos: tuple[str, ...], rng: np.random.Generator,
           context: tuple[str, str] | None = None) -> np.ndarray:
    """One distorted word crop, RGB uint8.

    ``context``: the words before and after it on the same line; a loose crop then shows pieces of them at its
    edges, as a detector's box does in a scene or on a page.
    """
    size = int(rng.integers(26, 64))
    font = ImageFont.truetype(font_path, size)
    outline = rng.random() < 0.12
    stroke = int(rng.integers(1, 3)) if outline else 0
    if context:
        before, after = context[0] + " ", " " + context[1]
        full = text_mask(before + text + after, font, pad=size // 2, stroke=stroke)
        left = size // 2 - font.getbbox(before + text + after, stroke_width=stroke)[0]
        x0 = left + int(font.getlength(before))
        x1 = left + int(font.getlength(before + text)) + 2 * stroke
        reach = int(rng.uniform(0.05, 0.45) * size)  # how much of the neighbours shows
        mask = full[:, max(0, x0 - reach) : x1 + reach]
    else:
        mask = text_mask(text, font, pad=size // 2, stroke=stroke)
    mask = warp(mask, rng, big_angle=rng.random() < 0.12)
    ys, xs = np.nonzero(mask > 0.1)
    if len(ys) == 0:
        raise ValueError(f"font {font_path} drew nothing for {text!r}")
    # Crop as a detector would: loose or tight margins around the ink (a little may be cut off).
    ink_h = ys.max() - ys.min() + 1
    m = lambda lo, hi: int(rng.uniform(lo, hi) * ink_h)  # noqa: E731
    y0, y1 = max(0, ys.min() - m(-0.03, 0.35)), min(mask.shape[0], ys.max() + 1 + m(-0.03, 0.35))
    x0, x1 = max(0, xs.min() - m(-0.02, 0.5)), min(mask.shape[1], xs.max() + 1 + m(-0.02, 0.5))
    mask = mask[y0:y1, x0:x1]
    h, w = mask.shape
    bg = background(rng, photos, h, w)
    fg = contrasting_colour(rng, bg.reshape(-1, 3).mean(axis=0))
    if rng.random() < 0.15:  # drop shadow in a darker or lighter tone
        shadow = np.roll(mask, (int(rng.integers(1, 4)), int(rng.integers(1, 4))), axis=(0, 1))
        tone = bg.reshape(-1, 3).mean(axis=0) * rng.uniform(0.2, 0.6)
        bg = bg * (1 - shadow[..., None] * 0.7) + tone * shadow[..., None] * 0.7
    if outline and rng.random() < 0.6:  # the stroke in its own colour, the letters' insides in another
        bg = bg * (1 - mask[..., None]) + fg * mask[..., None]
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=stroke)
        fg = contrasting_colour(rng, fg)
    fill = fg + rng.normal(0, 12, 3)  # slight colour variation across words
    img = bg * (1 - mask[..., None]) + fill * mask[..., None]
    return degrade(np.clip(img, 0, 255).astype(np.uint8), rng)


def degrade(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera and compression artefacts: blur, low resolution, noise, JPEG, border lines."""
    h, w = img.shape[:2]
    if rng.random() < 0.1:  # a border or frame edge caught by a loose crop
        cv2.rectangle(img, (0, 0), (w - 1, h - 1), [int(v) for v in rng.integers(0, 256, 3)], int(rng.integers(1, 3)))
    if rng.random() < 0.35:
        sigma = rng.uniform(0.4, 1.6)
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < 0.3:  # seen from afar: shrink, then back up
        f = rng.uniform(0.3, 0.7)
        small = cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        img = np.clip(img + rng.normal(0, rng.uniform(3, 12), img.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 90))])
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return img


_RES: Resources | None = None  # each worker process's resources, set once by run_jobs


def _init(res: Resources) -> None:
    global _RES
    _RES = res
    cv2.setNumThreads(1)


def run_jobs(work, jobs: list, res: Resources, workers: int, desc: str, chunksize: int) -> list:
    """``work(job)`` for every job, in order, in ``workers`` processes that each hold ``res``; with progress."""
    from tqdm import tqdm

    with tqdm(total=len(jobs), desc=desc, unit="img", file=sys.stderr) as bar:
        results = []
        if workers <= 1:
            _init(res)
            for job in jobs:
                results.append(work(job))
                bar.update(1)
            return results
        with Pool(workers, initializer=_init, initargs=(res,)) as pool:
            for result in pool.imap(work, jobs, chunksize=chunksize):
                results.append(result)
                bar.update(1)
        return results


def generator_arguments(description: str, count: int, labels: str = "labels.tsv"):
    """The argument parser every generator starts from: --out, -n/--count, --seed, --workers."""
    import argparse

    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help=f"folder to write: images/ and {labels}")
    p.add_argument("-n", "--count", type=int, default=count)
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same files, for any --workers")
    p.add_argument("--workers", type=int, default=1, help="processes")
    return p


def load_resources(words: str, font_dirs: list[str], photo_dirs: list[str], quiet: bool = False) -> Resources:
    fonts = [f for f in find_files(font_dirs, {".ttf", ".otf"}) if renders_latin(f)]
    if not fonts:
        raise SystemExit(f"error: no usable fonts under {', '.join(font_dirs)}: install fonts-* packages "
                         "(README: Synthetic words) or pass --fonts DIR")
    photos = find_photos(photo_dirs)
    if not photos and not quiet:
        print(f"warning: no photographs under {', '.join(photo_dirs)}: backgrounds will be flat and gradient "
              "fills only (install plasma-workspace-wallpapers, mate-backgrounds)", file=sys.stderr)
    caps = tuple(caps_only(f) for f in fonts)
    glyphs = [font_glyphs(f) for f in fonts]
    # A caps-only face draws a lower-case letter only where it has the capital, one letter (not ß -> SS).
    glyphs = [frozenset(c for c in g if not capital or (len(c.upper()) == 1 and c.upper() in g))
              for g, capital in zip(glyphs, caps)]
    return Resources(load_words(words), tuple(fonts), tuple(photos), load_foreign_words(str(Path(words).parent)),
                     tuple(glyphs), caps)




def worker_resources() -> Resources:
    """The resources ``run_jobs`` gave this process."""
    assert _RES is not None, "only inside run_jobs"
    return _RES
