"""Annotated images: each word's polygon outlined and its text in a label beside it, or, on dense pages, in a
panel beside the image. Torch-free.

Colours are chosen to read on light and dark photos alike: the outline is bright yellow inside a
thin black halo (one of the two always contrasts with the background), and each label is a solid
near-black box with white text, so the text never depends on what lies underneath. On a page of small words a
label would hide the lines around its word, so there the image keeps only its outlines and a white panel of the
same size, to its right, holds each word's text where the word stands, sized to the word.
"""
from __future__ import annotations

import unicodedata

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

OUTLINE = (255, 220, 0)  # bright yellow, RGB
HALO = (0, 0, 0)
LABEL_BOX = (20, 20, 20)
LABEL_TEXT = (255, 255, 255)
PANEL, PANEL_TEXT, PANEL_BOX = (255, 255, 255), (0, 0, 0), (200, 200, 200)
LAYOUTS = ("auto", "labels", "panel")
_SHIFT = 4  # cv2 fixed-point bits: sub-pixel vertices for anti-aliased lines


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at ``size`` px; the fixed-size bitmap default where it cannot scale."""
    try:
        return ImageFont.load_default(size=size)  # FreeType font on Pillow >= 10.1 with FreeType
    except (TypeError, OSError, ImportError):  # older Pillow (no size) or no FreeType
        return ImageFont.load_default()


def printable(text: str) -> str:
    """``text`` reduced to printable ASCII, the range the built-in fonts cover.

    Accents are dropped ("é" -> "e"); any other character (CJK, control, symbols) becomes "?".
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c if " " <= c <= "~" else "?" for c in decomposed if not unicodedata.combining(c))


def _check_inputs(image: np.ndarray, words: list[tuple[np.ndarray, str]]) -> list[tuple[np.ndarray, str]]:
    """Validate the image and return the words with float64 (N, 2) points."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape, dtype = getattr(image, "shape", None), getattr(image, "dtype", type(image).__name__)
        raise ValueError(f"expected an RGB uint8 (H, W, 3) image, got shape {shape} and dtype {dtype}")
    checked = []
    for i, (points, text) in enumerate(words):
        p = np.asarray(points, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] < 3 or not np.isfinite(p).all():
            raise ValueError(f"word {i}: expected finite (N, 2) points with N >= 3, got shape {p.shape}")
        checked.append((p, str(text)))
    return checked


def _label_origin(points: np.ndarray, box_w: int, box_h: int, gap: int, size: tuple[int, int]) -> tuple[int, int]:
    """Top-left (x, y) of a box_w x box_h label for a polygon in an image of ``size`` = (W, H).

    Just above the polygon, starting at its first (top-left) point's x; below the polygon when there
    is no room above; always shifted to lie inside the image where it fits.
    """
    w, h = size
    x = int(round(points[0, 0]))
    y = int(np.floor(points[:, 1].min())) - gap - box_h
    if y < 0:
        y = int(np.ceil(points[:, 1].max())) + gap + 1
    return min(max(x, 0), max(w - box_w, 0)), min(max(y, 0), max(h - box_h, 0))


def _panel(size: tuple[int, int], words: list[tuple[np.ndarray, str]]) -> np.ndarray:
    """A white (H, W) panel with each word's text at its place, as tall as the word and no wider."""
    w, h = size
    pil = Image.new("RGB", (w, h), PANEL)
    draw = ImageDraw.Draw(pil)
    for points, text in words:
        text = printable(text)
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        draw.rectangle((x0, y0, x1, y1), outline=PANEL_BOX)
        if not text:
            continue
        font_px = max(6, int((y1 - y0) * 0.8))
        font = _font(font_px)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if right - left > x1 - x0 + 2 and right > left:  # too wide for its word: a smaller font
            font = _font(max(6, int(font_px * (x1 - x0 + 2) / (right - left))))
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        draw.text((x0 - left + 1, (y0 + y1) / 2 - (top + bottom) / 2), text, font=font, fill=PANEL_TEXT)
    return np.array(pil)


def draw_words(
    image: np.ndarray,
    words: list[tuple[np.ndarray, str]],
    line_width: int | None = None,
    font_size: int | None = None,
    layout: str = "auto",
) -> np.ndarray:
    """Outline each word and show its text; returns a new RGB uint8 image.

    ``image`` is RGB uint8 (H, W, 3) and is not modified. Each word is (points, text): points (N, 2)
    in image pixels (x, y), clockwise from the word's top-left. Default sizes scale with the image:
    line width ~ min(H, W) / 400 px, font size ~ min(H, W) / 45 px (at least 10).

    ``layout``: "labels" puts each text in a label by its word (the result is H x W); "panel" adds a white
    panel to the right with each text at its word's place (H x 2W); "auto" takes the panel when the words are
    smaller than the labels would be (a page of small print), the labels otherwise.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    checked = _check_inputs(image, words)
    out = image.copy()
    if not checked:
        return out
    h, w = image.shape[:2]
    lw = max(1, round(min(h, w) / 400)) if line_width is None else int(line_width)
    size = max(10, round(min(h, w) / 45)) if font_size is None else int(font_size)
    if lw < 1 or size < 1:
        raise ValueError(f"line_width and font_size must be >= 1, got {lw} and {size}")
    if layout == "auto":
        word_height = float(np.median([np.ptp(p[:, 1]) for p, _ in checked]))
        layout = "panel" if word_height < size else "labels"
    # Outlines first (halo under the bright line), so labels drawn later stay on top of every line.
    polys = [np.round(p * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2) for p, _ in checked]
    cv2.polylines(out, polys, True, HALO, lw + 2, cv2.LINE_AA, _SHIFT)
    cv2.polylines(out, polys, True, OUTLINE, lw, cv2.LINE_AA, _SHIFT)

    if layout == "panel":
        return np.hstack([out, _panel((w, h), checked)])
    pil = Image.fromarray(out)
    draw = ImageDraw.Draw(pil)
    font = _font(size)
    pad = max(1, size // 5)
    for points, text in checked:
        text = printable(text)
        if not text:
            continue
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        box_w, box_h = right - left + 2 * pad, bottom - top + 2 * pad
        x, y = _label_origin(points, box_w, box_h, lw + 2, (w, h))  # clear of the halo
        draw.rectangle((x, y, x + box_w - 1, y + box_h - 1), fill=LABEL_BOX)
        draw.text((x + pad - left, y + pad - top), text, font=font, fill=LABEL_TEXT)
    return np.array(pil)
