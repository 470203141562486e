"""Reading image files as RGB arrays: the one reader every path uses. Torch-free, so `ocr` can use it without torch."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class TooLarge(ValueError):
    """An image whose header declares more pixels than allowed (found before decoding it)."""


def load_image(path, max_pixels: int | None = None, name: str | None = None, frame: int = 0) -> np.ndarray:
    """Read an image (a file path, or a binary file object) as RGB uint8 (H, W, 3), upright as its EXIF
    orientation says.

    Transparent pixels read as white; 16-bit and float images are scaled to their maximum. Raises
    ValueError naming the file (or ``name``) for a missing, unreadable or absurdly large image, and its
    subclass TooLarge, before any pixel is decoded, when the header declares more than ``max_pixels``.
    ``frame``: which image of a multi-image file (a multi-page TIFF), from 0.
    """
    name = name or path
    try:
        with Image.open(path) as im:
            if max_pixels is not None and im.size[0] * im.size[1] > max_pixels:
                raise TooLarge(f"{name}: {im.size[0]}x{im.size[1]} pixels, over the limit of {max_pixels:,}")
            if frame:
                im.seek(frame)
            im.load()
            im = ImageOps.exif_transpose(im)  # phone photos store "rotate me" in a tag
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                # Transparent pixels read as white, not as whatever colour they hide.
                rgba = im.convert("RGBA")
                bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, rgba)
            elif im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                arr = np.asarray(im, dtype=np.float64)
                scale = 255.0 / max(arr.max(), 1.0)
                im = Image.fromarray((arr * scale).round().astype(np.uint8))
            return np.asarray(im.convert("RGB"))
    except TooLarge:
        raise
    except FileNotFoundError:
        raise ValueError(f"{name}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ValueError(f"{name}: cannot read image ({e.__class__.__name__}: {e})") from None


def load_or_skip(path: str | Path, reported: set) -> np.ndarray | None:
    """``load_image``, or None for an unreadable file, named on stderr the first time (``reported`` remembers).

    For training data: one bad sample must not end an hours-long run.
    """
    try:
        return load_image(path)
    except ValueError as e:
        if path not in reported:
            reported.add(path)
            print(f"warning: skipping {e}", file=sys.stderr)
        return None
