"""Image input: turn command-line inputs into images (files, and the pages of PDFs and multi-page TIFFs), and
those into RGB arrays. Torch-free."""
from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from engine.images import IMAGE_SUFFIXES, load_image


class InputError(ValueError):
    """An input path, folder or image cannot be used; the message names it."""


PDF_DPI = 150  # pages are rendered at this resolution: 10-point text becomes about 20 pixels high
DOCUMENT_SUFFIXES = {".pdf"}


class Source(str):
    """An input image: a file, or one page of a PDF or multi-page TIFF, shown as ``file.pdf#page=2``.

    A ``str``, so it prints, sorts and keys dictionaries as the name a user reads; ``path`` and ``page``
    (from 1; None for a plain image) say where it comes from.
    """

    path: str
    page: int | None

    def __new__(cls, path: str, page: int | None = None):
        source = super().__new__(cls, path if page is None else f"{path}#page={page}")
        source.path, source.page = str(path), page
        return source


def read_image(source: str | Path) -> np.ndarray:
    """RGB uint8 (H, W, 3) from any image Pillow reads (gray, RGBA, 16-bit, CMYK, palette), or a page."""
    page = getattr(source, "page", None)
    path = getattr(source, "path", source)
    try:
        if page is not None and Path(path).suffix.lower() in DOCUMENT_SUFFIXES:
            return render_pdf_page(path, page)
        return load_image(path, name=str(source), frame=(page or 1) - 1)
    except ValueError as e:
        raise InputError(str(e)) from None


def _pdfium():
    try:
        import pypdfium2
    except ImportError:
        raise InputError("PDF input needs pypdfium2: pip install 'crnn-ocr[pdf]'") from None
    return pypdfium2


def render_pdf_page(path: str, page: int) -> np.ndarray:
    """One page of a PDF (from 1) as RGB uint8, at PDF_DPI."""
    pdfium = _pdfium()
    try:
        document = pdfium.PdfDocument(path)
        try:
            bitmap = document[page - 1].render(scale=PDF_DPI / 72)
            return np.asarray(bitmap.to_pil().convert("RGB"))
        finally:
            document.close()
    except (pdfium.PdfiumError, IndexError, OSError) as e:
        raise ValueError(f"{path}#page={page}: cannot render ({e.__class__.__name__}: {e})") from None


def sources_of(path: str) -> list[Source]:
    """A file's images: each page of a PDF or multi-page TIFF, else the file itself."""
    suffix = Path(path).suffix.lower()
    if suffix in DOCUMENT_SUFFIXES:
        pdfium = _pdfium()
        try:
            document = pdfium.PdfDocument(path)
            pages = len(document)
            document.close()
        except (pdfium.PdfiumError, OSError) as e:
            raise InputError(f"{path}: cannot read PDF ({e.__class__.__name__}: {e})") from None
        return [Source(path, k) for k in range(1, pages + 1)]
    if suffix in (".tif", ".tiff"):
        from PIL import Image

        try:
            with Image.open(path) as im:
                frames = getattr(im, "n_frames", 1)
        except OSError:
            frames = 1  # read_image will name the problem
        if frames > 1:
            return [Source(path, k) for k in range(1, frames + 1)]
    return [Source(path)]


def expand_inputs(inputs: list[str]) -> tuple[list[Source], list[str]]:
    """Files, folders (their images and PDFs, sorted) and glob patterns -> (images, error messages)."""
    paths, errors = [], []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(str(f) for f in p.iterdir()
                           if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES | DOCUMENT_SUFFIXES)
            if not found:
                errors.append(f"{item}: folder holds no images")
        elif p.exists():
            found = [item]
        elif glob.has_magic(item):
            found = sorted(f for f in glob.glob(item) if Path(f).is_file())
            if not found:
                errors.append(f"{item}: no files match")
        else:
            errors.append(f"{item}: no such file")
            found = []
        for path in found:
            try:
                paths += sources_of(path)
            except InputError as e:
                errors.append(str(e))
    return paths, errors


def data_kind(folder: str | Path) -> str:
    """'detector' for a folder of labelled photos (labels.jsonl, or ICDAR 2015 gt files), else 'recognizer'."""
    path = Path(folder)
    photos = (path / "labels.jsonl").is_file() or (path / "gt").is_dir() or any(path.glob("gt_*.txt"))
    return "detector" if photos else "recognizer"
