"""Image input: turn command-line inputs into files, and files into RGB arrays."""
from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from engine.images import IMAGE_SUFFIXES, load_image


class InputError(ValueError):
    """An input path, folder or image cannot be used; the message names it."""


def read_image(path: str | Path) -> np.ndarray:
    """RGB uint8 (H, W, 3) from any image Pillow reads (gray, RGBA, 16-bit, CMYK, palette)."""
    try:
        return load_image(path)
    except ValueError as e:
        raise InputError(str(e)) from None


def expand_inputs(inputs: list[str]) -> tuple[list[str], list[str]]:
    """Files, folders (their images, sorted) and glob patterns -> (image paths, error messages)."""
    paths, errors = [], []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(str(f) for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                errors.append(f"{item}: folder holds no images")
            paths += found
        elif p.exists():
            paths.append(item)
        elif glob.has_magic(item):
            found = sorted(f for f in glob.glob(item) if Path(f).is_file())
            if not found:
                errors.append(f"{item}: no files match")
            paths += found
        else:
            errors.append(f"{item}: no such file")
    return paths, errors


def data_kind(folder: str | Path) -> str:
    """'detector' for a folder of labelled photos (labels.jsonl, or ICDAR 2015 gt files), else 'recognizer'."""
    path = Path(folder)
    photos = (path / "labels.jsonl").is_file() or (path / "gt").is_dir() or any(path.glob("gt_*.txt"))
    return "detector" if photos else "recognizer"
