"""Synthetic document pages with exact word boxes, for the detector and for reading pages (issue 12).

    python tools/make_pages.py --out data/pages -n 2000 --seed 1 --workers 2
    python tools/make_pages.py --out data/two-column -n 50 --layout two-column --clean --seed 5

Layouts (``--layout``, default all in turn): ``paragraphs``, ``two-column``, ``form`` (labels, filled fields,
rules and boxes), ``table`` (ruled cells), ``receipt`` (narrow, monospaced, prices right-aligned) and
``screenshot`` (light or dark themes, a title bar, buttons). Text is 8 to 40 px tall, small print (8 to 16 px)
in most blocks, in every font of the fonts-* packages (bold and italic faces among them). Scan artefacts:
skew, blur, noise, JPEG, low resolution, binarisation, light text on dark, and stamps and scribbles as
distractors that are not words. ``--clean`` leaves the artefacts out (for reading tests).

Each page is OUT/images/page_<index>.jpg; OUT/labels.jsonl holds per page its words (points clockwise from the
top-left, as ICDAR 2015; the detector trains on it with ``ocr-train``) and its lines in reading order, column
by column (``lines``: the text a reader of the page should print). A seed gives the same files for any workers.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

import synth.text as mw  # noqa: E402

LAYOUTS = ("paragraphs", "two-column", "form", "table", "receipt", "screenshot")
MONO = ("Mono", "Courier", "Inconsolata")  # receipt faces


def text_size(rng: np.random.Generator) -> int:
    """Font size in px: small print most often, as on forms and letters."""
    band = rng.random()
    lo, hi = (8, 17) if band < 0.6 else (17, 29) if band < 0.9 else (29, 41)
    return int(rng.integers(lo, hi))


class Page:
    """A canvas that records every word it draws, and the lines they make, in the order written."""

    def __init__(self, res: mw.Resources, rng: np.random.Generator, size: tuple[int, int], paper, ink):
        self.res, self.rng, self.ink = res, rng, ink
        self.image = Image.new("RGB", size, paper)
        self.draw = ImageDraw.Draw(self.image)
        self.words: list[dict] = []
        self.lines: list[str] = []

    def font(self, size: int, mono: bool = False) -> ImageFont.FreeTypeFont:
        fonts = [f for f in self.res.fonts if any(m in Path(f).stem for m in MONO)] if mono else []
        fonts = fonts or list(self.res.fonts)
        return ImageFont.truetype(fonts[int(self.rng.integers(len(fonts)))], size)

    def token(self, font: ImageFont.FreeTypeFont) -> str:
        text = mw.random_text(self.rng, self.res.words, self.res.foreign)
        glyphs = self.res.glyphs[self.res.fonts.index(font.path)] if self.res.glyphs else None
        if glyphs is not None and not set(text) <= glyphs:
            text = self.res.words[int(self.rng.integers(len(self.res.words)))]
        return text

    def word(self, x: float, y: float, text: str, font, colour=None) -> float | None:
        """Draw ``text`` with its top-left at (x, y); its right edge, or None when it draws no ink."""
        text = mw.as_drawn(self.res, self.res.fonts.index(font.path), text)
        left, top, right, bottom = self.draw.textbbox((x, y), text, font=font)
        if right <= left or bottom <= top:
            return None
        self.draw.text((x, y), text, font=font, fill=colour or self.ink)
        # The box a person draws around a word (FUNSD, ICDAR): the font's ascender to descender, whatever the
        # letters (ink-tight boxes were a third lower than FUNSD's), and a tenth of an em beyond the ink each side.
        ascent, descent = font.getmetrics()
        pad = 0.1 * font.size
        top, bottom = min(top, y), max(bottom, min(y + ascent + descent, y + 1.4 * font.size))
        box_left, box_right = left - pad, right + pad
        self.words.append({"points": [[box_left, top], [box_right, top], [box_right, bottom], [box_left, bottom]],
                           "text": text})
        return right

    def line(self, x0: float, x1: float, y: float, font, texts: list[str] | None = None, align: str = "left") -> bool:
        """One line of words from x0, as many as fit before x1 (``texts``: these, else random ones); recorded as a
        line of the page. False when not even one word fits."""
        space = font.getlength(" ")
        drawn, x = [], x0
        texts = list(texts) if texts is not None else None
        while True:
            text = texts.pop(0) if texts else None if texts is not None else self.token(font)
            if text is None or x + font.getlength(text) > x1:
                break
            if align == "right":  # texts given: right-aligned as one run
                x = x1 - font.getlength(" ".join([text] + texts))
            right = self.word(x, y, text, font)
            if right is not None:
                drawn.append(text)
                x = right + space
        if drawn:
            self.lines.append(" ".join(drawn))
        return bool(drawn)

    def block(self, x0: float, x1: float, y: float, y_max: float, font, lines: int) -> float:
        """A paragraph of up to ``lines`` lines; returns the y below it."""
        step = font.size * self.rng.uniform(1.15, 1.6)
        for _ in range(lines):
            if y + step > y_max:
                break
            self.line(x0, x1 - self.rng.uniform(0, 0.3) * (x1 - x0) * (self.rng.random() < 0.2), y, font)
            y += step
        return y


def paragraphs(page: Page, columns: int) -> None:
    w, h = page.image.size
    rng = page.rng
    margin = w * rng.uniform(0.05, 0.12)
    gutter = w * rng.uniform(0.03, 0.06)
    width = (w - 2 * margin - gutter * (columns - 1)) / columns
    title = page.font(int(rng.integers(20, 41)))
    y0 = margin
    if rng.random() < 0.7:
        page.line(margin, w - margin, y0, title)
        y0 += title.size * 2
    font = page.font(text_size(rng))
    for c in range(columns):
        x0, y = margin + c * (width + gutter), y0
        while y < h - margin - font.size * 2:
            y = page.block(x0, x0 + width, y, h - margin, font, int(rng.integers(2, 9))) + font.size * rng.uniform(0.5, 1.5)


def form(page: Page) -> None:
    w, h = page.image.size
    rng = page.rng
    margin = w * rng.uniform(0.05, 0.1)
    label, value = page.font(text_size(rng)), page.font(text_size(rng))
    y = margin
    page.line(margin, w - margin, y, page.font(int(rng.integers(18, 36))))
    y += 50
    while y < h - margin - 40:
        kind = rng.random()
        if kind < 0.6:  # Label: value on a rule
            x = page.word(margin, y, page.token(label).rstrip(".,;:") + ":", label)
            if x is not None:
                page.lines.append(page.words[-1]["text"])
                xv = x + rng.uniform(8, 40)
                end = min(w - margin, xv + rng.uniform(100, 500))
                page.draw.line((xv, y + value.size * 1.25, end, y + value.size * 1.25), fill=page.ink, width=1)
                if rng.random() < 0.8:
                    before = len(page.lines)
                    page.line(xv, end, y, value)
                    if len(page.lines) > before:  # the label and its value read as one line
                        page.lines[-2:] = [" ".join(page.lines[-2:])]
        elif kind < 0.75:  # tick boxes with their captions
            x = margin
            for _ in range(int(rng.integers(2, 5))):
                s = label.size
                page.draw.rectangle((x, y + 2, x + s, y + 2 + s), outline=page.ink, width=1)
                if rng.random() < 0.4:
                    page.draw.line((x, y + 2, x + s, y + 2 + s), fill=page.ink, width=2)
                right = page.word(x + s * 1.6, y, page.token(label), label)
                if right is None or right > w - margin:
                    break
                page.lines.append(page.words[-1]["text"])
                x = right + rng.uniform(20, 60)
        elif kind < 0.85:
            page.draw.line((margin, y, w - margin, y), fill=page.ink, width=int(rng.integers(1, 4)))
            y -= label.size
        else:
            y = page.block(margin, w - margin, y, h - margin, label, int(rng.integers(1, 4))) - label.size
        y += max(label.size, value.size) * rng.uniform(1.8, 3.0)


def table(page: Page) -> None:
    w, h = page.image.size
    rng = page.rng
    margin = w * rng.uniform(0.05, 0.1)
    font = page.font(text_size(rng))
    y = page.block(margin, w - margin, margin, h / 3, font, int(rng.integers(0, 4)))
    cols = int(rng.integers(2, 7))
    edges = np.sort(rng.uniform(0.1, 0.9, cols - 1))
    xs = [margin] + [margin + e * (w - 2 * margin) for e in edges] + [w - margin]
    row_h = font.size * rng.uniform(1.6, 2.4)
    rows = int(min(rng.integers(4, 30), (h - margin - y) // row_h))
    for r in range(rows + 1):
        page.draw.line((xs[0], y + r * row_h, xs[-1], y + r * row_h), fill=page.ink, width=1)
    for x in xs:
        page.draw.line((x, y, x, y + rows * row_h), fill=page.ink, width=1)
    for r in range(rows):  # cells in reading order: row by row
        for c in range(cols):
            if rng.random() < 0.85:
                page.line(xs[c] + 4, xs[c + 1] - 4, y + r * row_h + (row_h - font.size) / 2 - 1, font,
                          [page.token(font) for _ in range(int(rng.integers(1, 3)))])


def receipt(page: Page) -> None:
    w, h = page.image.size
    rng = page.rng
    font = page.font(int(rng.integers(10, 20)), mono=True)
    margin = w * 0.08
    y = margin
    for _ in range(int(rng.integers(1, 3))):
        page.line(margin, w - margin, y, font)
        y += font.size * 1.5
    y += font.size
    while y < h - margin - font.size * 4:
        item = [page.token(font) for _ in range(int(rng.integers(1, 3)))]
        price = f"{rng.integers(0, 200)}.{rng.integers(0, 100):02d}"
        if page.line(margin, w * 0.65, y, font, item):
            page.word(w - margin - font.getlength(price), y, price, font)
            page.lines[-1] += " " + price
        y += font.size * 1.4
    page.draw.line((margin, y, w - margin, y), fill=page.ink, width=1)
    total = f"{rng.integers(10, 900)}.{rng.integers(0, 100):02d}"
    page.line(margin, w - margin, y + font.size, font, ["TOTAL", total])


def screenshot(page: Page) -> None:
    w, h = page.image.size
    rng = page.rng
    bar = tuple(int(v) for v in rng.integers(0, 256, 3))
    bar_h = int(rng.integers(30, 60))
    page.draw.rectangle((0, 0, w, bar_h), fill=bar)
    title = page.font(int(rng.integers(14, 24)))
    title_ink = (255, 255, 255) if np.mean(bar) < 128 else (0, 0, 0)
    right = page.word(12, (bar_h - title.size) / 2, page.token(title), title, title_ink)
    if right is not None:
        page.lines.append(page.words[-1]["text"])
    y = bar_h + 20
    font = page.font(text_size(rng))
    while y < h - 60:
        if rng.random() < 0.25:  # a row of buttons
            x = 20
            for _ in range(int(rng.integers(1, 4))):
                text = page.token(font)
                bw = font.getlength(text) + 24
                if x + bw > w - 20:
                    break
                fill = tuple(int(v) for v in rng.integers(0, 256, 3))
                page.draw.rounded_rectangle((x, y, x + bw, y + font.size * 2), radius=6, fill=fill)
                ink = (255, 255, 255) if np.mean(fill) < 128 else (0, 0, 0)
                if page.word(x + 12, y + font.size / 2, text, font, ink) is not None:
                    page.lines.append(text)
                x += bw + 16
            y += font.size * 3
        else:
            y = page.block(20, w - 20, y, h - 20, font, int(rng.integers(1, 6))) + font.size


def distractors(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stamps (rings and frames) and scribbles: marks that are not words."""
    h, w = image.shape[:2]
    for _ in range(int(rng.integers(0, 3))):
        colour = [(200, 30, 30), (30, 60, 200), (90, 90, 90)][int(rng.integers(3))]
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if rng.random() < 0.5:
            r = int(rng.integers(30, 90))
            cv2.circle(image, c, r, colour, 3, cv2.LINE_AA)
            cv2.circle(image, c, r - 8, colour, 1, cv2.LINE_AA)
        else:
            pts = np.cumsum(rng.normal(0, 25, (int(rng.integers(8, 30)), 2)), axis=0) + c
            cv2.polylines(image, [pts.astype(np.int32).reshape(-1, 1, 2)], False, colour, int(rng.integers(1, 4)),
                          cv2.LINE_AA)
    return image


def scan(image: np.ndarray, words: list[dict], rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """Skew (the boxes turn with the page), then blur, low resolution, binarisation, noise."""
    h, w = image.shape[:2]
    angle = float(np.clip(rng.normal(0, 1.0), -3, 3)) if rng.random() < 0.6 else 0.0
    if angle:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        image = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))
        for word in words:
            pts = np.asarray(word["points"], np.float64)
            word["points"] = (pts @ m[:, :2].T + m[:, 2]).tolist()
    if rng.random() < 0.3:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.0))
    if rng.random() < 0.3:  # a low-resolution scan, brought back to size
        f = rng.uniform(0.5, 0.8)
        small = cv2.resize(image, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)
        image = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    paper = float(np.median(grey))
    if rng.random() < 0.12 and paper > 160:  # a black-and-white scan: anything darker than the paper turns black,
        cut = paper - rng.uniform(30, 70)  # so thin small print thickens rather than vanishes
        image = cv2.cvtColor(np.where(grey > cut, 255, 0).astype(np.uint8), cv2.COLOR_GRAY2RGB)
    if rng.random() < 0.4:
        image = np.clip(image + rng.normal(0, rng.uniform(2, 10), image.shape), 0, 255).astype(np.uint8)
    return image, words


def make_page(index: int, seed: int, layout: str, clean: bool, res: mw.Resources) -> tuple[np.ndarray, dict]:
    rng = np.random.default_rng([seed, index])
    if layout == "receipt":
        size = (int(rng.integers(300, 520)), int(rng.integers(700, 1300)))
    elif layout == "screenshot":
        size = (int(rng.integers(900, 1600)), int(rng.integers(600, 1000)))
    else:
        width = int(rng.integers(850, 1700))
        size = (width, int(width * rng.uniform(1.25, 1.42)))
    dark = layout == "screenshot" and rng.random() < 0.4
    paper = tuple(int(v) for v in (rng.integers(20, 60, 3) if dark else rng.integers(225, 256, 3)))
    ink = tuple(int(v) for v in (rng.integers(190, 256, 3) if dark else rng.integers(0, 70, 3)))
    page = Page(res, rng, size, paper, ink)
    {"paragraphs": lambda: paragraphs(page, 1), "two-column": lambda: paragraphs(page, 2), "form": lambda: form(page),
     "table": lambda: table(page), "receipt": lambda: receipt(page), "screenshot": lambda: screenshot(page)}[layout]()
    image, words = np.asarray(page.image).copy(), page.words
    if not clean:
        image = distractors(image, rng) if rng.random() < 0.3 else image
        image, words = scan(image, words, rng)
        if layout != "screenshot" and rng.random() < 0.08:
            image = 255 - image  # light print on dark paper
    for word in words:
        word["points"] = np.round(word["points"], 1).tolist()
    return image, {"words": words, "lines": page.lines, "layout": layout}


def _work(args):
    index, out, seed, layouts, clean = args
    image, record = make_page(index, seed, layouts[index % len(layouts)], clean, mw.worker_resources())
    name = f"page_{index:07d}.jpg"
    quality = 95 if clean else int(np.random.default_rng([seed, index, 1]).integers(40, 95))
    cv2.imwrite(str(Path(out) / "images" / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, quality])
    return {"image": name, **record}


def main(argv=None) -> int:
    p = mw.generator_arguments(__doc__, 500, "labels.jsonl")
    p.add_argument("--layout", nargs="+", choices=LAYOUTS + ("all",), default=["all"], help="layouts, in turn")
    p.add_argument("--clean", action="store_true", help="no skew, noise, blur or distractors")
    p.add_argument("--words", default=mw.DEFAULT_WORDS)
    p.add_argument("--fonts", nargs="+", default=mw.DEFAULT_FONT_DIRS)
    a = p.parse_args(argv)
    if a.count < 1:
        p.error("--count must be at least 1")
    res = mw.load_resources(a.words, a.fonts, [], quiet=True)  # pages need no photos
    layouts = LAYOUTS if "all" in a.layout else tuple(a.layout)
    out = Path(a.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    records = mw.run_jobs(_work, [(i, str(out), a.seed, layouts, a.clean) for i in range(a.count)], res, a.workers,
                          "pages", chunksize=4)
    with open(out / "labels.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    print(f"wrote {a.count} pages with {sum(len(r['words']) for r in records)} words to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
