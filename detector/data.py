"""Detection annotations: read word polygons from labels.jsonl or ICDAR 2015 ground-truth files.

Two folder layouts are understood (``read_annotations`` picks one):

- ``labels.jsonl`` beside ``images/``: one JSON object per line,
  ``{"image": "img_1.jpg", "words": [{"points": [[x, y], ...], "text": "STOP"}]}``.
- ICDAR 2015: images ``img_N.jpg`` with ground truth ``gt_img_N.txt``, either side by side or as
  ``images/`` and ``gt/`` subfolders; each gt line is ``x1,y1,x2,y2,x3,y3,x4,y4,transcription``.

Polygons are in original image pixels (x right, y down), clockwise on screen from the word's top-left.
A transcription of exactly ``###`` marks a don't-care region (unreadable text: neither to be found nor
to be penalised).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.images import IMAGE_SUFFIXES

DONT_CARE = "###"


class AnnotationError(ValueError):
    """An annotation file or folder cannot be used."""


@dataclass(frozen=True)
class ImageAnnotation:
    """One image's words.

    polygons: each (N, 2) float32, N >= 3 (4 for ICDAR quads), pixels, clockwise from the word's top-left.
    texts, ignore: one per polygon; ignore[i] is True when texts[i] == "###".
    """

    image: Path
    polygons: list[np.ndarray]
    texts: list[str]
    ignore: list[bool]


def _clockwise(points: np.ndarray) -> np.ndarray:
    """Reverse a counter-clockwise polygon, keeping its first point (the word's top-left) first.

    With y pointing down, a positive shoelace sum is clockwise on screen.
    """
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    if float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) < 0:
        return np.concatenate([points[:1], points[:0:-1]])
    return points


def _annotation(image: Path, words: list[tuple[np.ndarray, str]]) -> ImageAnnotation:
    return ImageAnnotation(
        image=image,
        polygons=[_clockwise(p) for p, _ in words],
        texts=[t for _, t in words],
        ignore=[t == DONT_CARE for _, t in words],
    )


def _parse_points(value: object, where: str) -> np.ndarray:
    """A JSON list of [x, y] pairs -> (N, 2) float32; raises AnnotationError prefixed by `where`."""
    if not isinstance(value, list) or len(value) < 3:
        raise AnnotationError(f"{where}: 'points' must be a list of at least 3 [x, y] pairs, got {value!r}")
    for p in value:
        # bool is an int subclass in Python, but true/false are never coordinates.
        if (not isinstance(p, list) or len(p) != 2
                or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p)):
            raise AnnotationError(f"{where}: each point must be [x, y] with numeric coordinates, got {p!r}")
    points = np.asarray(value, dtype=np.float32)
    if not np.isfinite(points).all():
        raise AnnotationError(f"{where}: non-finite coordinate in {value!r}")
    return points


def read_labels_jsonl(folder: Path) -> list[ImageAnnotation]:
    """Read ``folder/labels.jsonl``; image names resolve under ``folder/images/`` (else ``folder``).

    Blank lines are skipped; the order of the file is kept. Every problem (malformed JSON, a missing
    key, fewer than 3 points, a non-numeric coordinate, an image listed twice) raises AnnotationError
    naming the file and line.
    """
    folder = Path(folder)
    path = folder / "labels.jsonl"
    image_dir = folder / "images" if (folder / "images").is_dir() else folder
    seen: dict[str, int] = {}
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise AnnotationError(f"{where}: malformed JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(record, dict) or "image" not in record or "words" not in record:
            raise AnnotationError(f"{where}: expected an object with keys 'image' and 'words'")
        name, words = record["image"], record["words"]
        if not isinstance(name, str) or not name:
            raise AnnotationError(f"{where}: 'image' must be a non-empty file name, got {name!r}")
        if name in seen:
            # A second line would count the image's words twice in training and evaluation.
            raise AnnotationError(f"{where}: image {name!r} already listed on line {seen[name]}")
        seen[name] = n
        if not isinstance(words, list):
            raise AnnotationError(f"{where}: 'words' must be a list, got {type(words).__name__}")
        parsed = []
        for k, word in enumerate(words):
            if not isinstance(word, dict) or "points" not in word or "text" not in word:
                raise AnnotationError(f"{where}: word {k} needs keys 'points' and 'text'")
            if not isinstance(word["text"], str):
                raise AnnotationError(f"{where}: word {k}: 'text' must be a string, got {word['text']!r}")
            parsed.append((_parse_points(word["points"], f"{where}: word {k}"), word["text"]))
        out.append(_annotation(image_dir / name, parsed))
    return out


def write_labels_jsonl(folder: Path, annotations: list[ImageAnnotation]) -> Path:
    """Write ``folder/labels.jsonl`` (image file names only; images belong in ``folder/images/``)."""
    path = Path(folder) / "labels.jsonl"
    lines = []
    for a in annotations:
        words = [{"points": p.tolist(), "text": t} for p, t in zip(a.polygons, a.texts)]
        lines.append(json.dumps({"image": a.image.name, "words": words}, ensure_ascii=False))
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def read_icdar_gt(path: Path, image: Path) -> ImageAnnotation:
    """Read one ICDAR 2015 ``gt_img_N.txt`` (UTF-8 with a BOM) for `image`.

    Each line is ``x1,y1,...,x4,y4,transcription``; only the first 8 commas split, so a transcription
    may contain commas. Blank lines are skipped; a malformed line raises AnnotationError naming it.
    """
    path = Path(path)
    words = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(",", 8)
        if len(fields) < 9:
            raise AnnotationError(f"{path}:{n}: expected 8 coordinates and a transcription, got {line!r}")
        try:
            coords = [int(c) for c in fields[:8]]
        except ValueError:
            raise AnnotationError(f"{path}:{n}: coordinates must be integers, got {line!r}") from None
        words.append((np.asarray(coords, dtype=np.float32).reshape(4, 2), fields[8]))
    return _annotation(Path(image), words)


def read_icdar_folder(folder: Path) -> list[ImageAnnotation]:
    """Pair every image with its ``gt_<image stem>.txt`` and read them, sorted by image name.

    Images come from ``folder/images/`` when it exists, else ``folder``; gt files from ``folder/gt/``
    when it exists, else ``folder``. An image without a gt file raises AnnotationError naming it;
    gt files without an image are ignored.
    """
    folder = Path(folder)
    image_dir = folder / "images" if (folder / "images").is_dir() else folder
    gt_dir = folder / "gt" if (folder / "gt").is_dir() else folder
    out = []
    for image in sorted(image_dir.iterdir()):
        if not (image.is_file() and image.suffix.lower() in IMAGE_SUFFIXES):
            continue
        gt = gt_dir / f"gt_{image.stem}.txt"
        if not gt.is_file():
            raise AnnotationError(f"{image}: no ground truth file {gt}")
        out.append(read_icdar_gt(gt, image))
    return out


def read_annotations(folder: Path) -> list[ImageAnnotation]:
    """Read a folder's annotations: ``labels.jsonl`` when present, else ICDAR gt files.

    Raises AnnotationError when the folder is missing or holds no annotated image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AnnotationError(f"{folder}: not a folder")
    if (folder / "labels.jsonl").is_file():
        annotations = read_labels_jsonl(folder)
    else:
        annotations = read_icdar_folder(folder)
    if not annotations:
        raise AnnotationError(
            f"{folder}: no annotated images found (expected labels.jsonl, or images with gt_<name>.txt files)"
        )
    return annotations


def split_by_names(
    annotations: list[ImageAnnotation], names: set[str]
) -> tuple[list[ImageAnnotation], list[ImageAnnotation]]:
    """(those whose image file name is not in `names`, those whose name is), each in input order."""
    rest = [a for a in annotations if a.image.name not in names]
    chosen = [a for a in annotations if a.image.name in names]
    return rest, chosen
