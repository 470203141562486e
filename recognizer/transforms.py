"""Preprocessing (any crop -> the network's input) and training augmentation. Pure numpy/OpenCV."""
from __future__ import annotations

import cv2
import numpy as np

from .config import RecognizerConfig


def to_model_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """RGB (H, W, 3) or gray (H, W) uint8 -> (H, W) gray or (H, W, 3) RGB."""
    if image.ndim == 2:
        return image if channels == 1 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB (H, W, 3) or gray (H, W) image, got shape {image.shape}")
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if channels == 1 else image


def resize_for_model(image: np.ndarray, cfg: RecognizerConfig) -> np.ndarray:
    """Resize a crop to (cfg.height, cfg.width[, 3]) uint8 as the checkpoint's resize mode says.

    "stretch" scales both axes independently. "pad" scales to the full height keeping the aspect
    ratio (capped at the full width) and fills the rest on the right with the crop's median value.
    """
    h, w = image.shape[:2]
    if h < 1 or w < 1:
        raise ValueError(f"cannot resize an empty crop of shape {image.shape}")
    if cfg.resize == "stretch":
        new_w = cfg.width
    else:
        new_w = max(1, min(cfg.width, round(w * cfg.height / h)))
    interp = cv2.INTER_AREA if h > cfg.height else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, cfg.height), interpolation=interp)
    if new_w == cfg.width:
        return resized
    out = np.empty((cfg.height, cfg.width) + image.shape[2:], dtype=np.uint8)
    out[:] = np.median(resized.reshape(-1, *image.shape[2:]), axis=0).astype(np.uint8)
    out[:, :new_w] = resized
    return out


def _band(counts: np.ndarray, gap: int) -> tuple[int, int] | None:
    """The stretch of indices, gaps of up to ``gap`` bridged, holding the most ink; only indices with a fair
    share of the inkiest ones' ink count, so speckles and thin lines hardly move it."""
    strong = np.flatnonzero(counts > 0.2 * np.percentile(counts, 95))
    if counts.max() == 0 or len(strong) == 0:
        return None
    cuts = np.flatnonzero(np.diff(strong) > gap + 1) + 1
    runs = np.split(strong, cuts)
    best = max(runs, key=lambda run: counts[run[0] : run[-1] + 1].sum())
    return int(best[0]), int(best[-1]) + 1


def stroke_starts(ink: np.ndarray) -> np.ndarray:
    """Per row of a boolean mask, how many separate runs of ink it crosses."""
    return (ink[:, 1:] & ~ink[:, :-1]).sum(1) + ink[:, 0]


def content_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of what stands out from the border's colour, with a small margin; the whole image when
    nothing clearly does. Columns span from the first to the last inky one (letters stand apart); rows are the
    band that crosses the most strokes, so a line above, below or across the text neither stretches the box nor
    pulls it onto itself: a line is one stroke in each row it passes, a row of letters many. (Counting ink
    instead put some boxes on a long line, cutting the letters off: `captcha-base` read 0.53 of 400 wide zoo
    captchas with lines then, 0.565 now.)"""
    gray = to_model_channels(image, 1).astype(np.int16)
    h, w = gray.shape
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ink = np.abs(gray - int(np.median(border))) > 40
    columns = _band(ink.sum(0), w)
    rows = None if columns is None else _band(stroke_starts(ink[:, columns[0] : columns[1]]), 2)
    if rows is None:
        return 0, 0, w, h
    (x0, x1), (y0, y1) = columns, rows
    pad = max(2, round(0.1 * (y1 - y0)))
    x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    if (x1 - x0) < 0.05 * w or (y1 - y0) < 0.2 * h:  # a speck, not the text
        return 0, 0, w, h
    return x0, y0, x1, y1


def trim_margins(image: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = content_box(image)
    return image[y0:y1, x0:x1]


def preprocess(image: np.ndarray, cfg: RecognizerConfig) -> np.ndarray:
    """Any upright crop (RGB or gray uint8) -> float32 (C, H, W) in [-1, 1]."""
    if cfg.trim:
        image = trim_margins(image)
    x = resize_for_model(to_model_channels(image, cfg.channels), cfg)
    x = x.astype(np.float32) / 127.5 - 1.0
    return x[None] if x.ndim == 2 else x.transpose(2, 0, 1)


def draw_clutter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Captcha-like distractors drawn over a copy: crossing lines and speckles in random colours."""
    image = image.copy()
    h, w = image.shape[:2]
    colour = lambda: int(rng.integers(0, 256)) if image.ndim == 2 else tuple(int(v) for v in rng.integers(0, 256, 3))  # noqa: E731
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 4))):
            ends = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(2)]
            cv2.line(image, ends[0], ends[1], colour(), int(rng.integers(1, 3)), cv2.LINE_AA)
    if rng.random() < 0.3:
        n = int(w * h * rng.uniform(0.005, 0.03))
        image[rng.integers(0, h, n), rng.integers(0, w, n)] = colour()
    return image


def augment(image: np.ndarray, rng: np.random.Generator, clutter: bool = False) -> np.ndarray:
    """Mild geometric and photometric changes that keep every character legible.

    Suited to captchas and word crops: small rotation, shear and scale, an uneven crop margin (as a
    detector would cut), contrast and brightness, blur, and noise; with ``clutter``, also lines and speckles
    (``draw_clutter``), which keep a few hundred captchas from being learnt by heart. Returns uint8 of the same layout.
    """
    if clutter:
        image = draw_clutter(image, rng)
    h, w = image.shape[:2]
    # Geometry: one affine warp about the centre, border replicated so no black corners appear.
    angle = rng.uniform(-4, 4)
    scale = rng.uniform(0.9, 1.05)
    shear = rng.uniform(-0.15, 0.15)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[0, 1] += shear
    m[0, 2] += rng.uniform(-0.04, 0.04) * w - shear * h / 2
    m[1, 2] += rng.uniform(-0.06, 0.06) * h
    image = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # Crop margins: trim up to 5 % of each side.
    x0, x1 = (rng.uniform(0, 0.05, 2) * w).astype(int)
    y0, y1 = (rng.uniform(0, 0.05, 2) * h).astype(int)
    image = image[y0 : h - y1, x0 : w - x1]
    # Photometry.
    img = image.astype(np.float32)
    img = (img - img.mean()) * rng.uniform(0.7, 1.2) + img.mean() + rng.uniform(-25, 25)
    if rng.random() < 0.3:
        k = int(rng.choice([3, 5]))
        img = cv2.GaussianBlur(img, (k, k), 0)
    if rng.random() < 0.3:
        img += rng.normal(0, rng.uniform(2, 10), img.shape).astype(np.float32)
    if rng.random() < 0.2:
        img = 255.0 - img
    return np.clip(img, 0, 255).astype(np.uint8)
