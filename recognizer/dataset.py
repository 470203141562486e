"""Labelled crop folders: parsing, label checks, and a torch Dataset.

A folder is either ``labels.tsv`` (``<file>\\t<text>`` per line; it wins when present) or images whose
file name is the label (``1234.jpg`` reads "1234"; with the separator ``_``, ``1234_7.jpg`` also reads
"1234"). Image names resolve under ``DIR/images/`` when that folder exists, else under ``DIR``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.images import IMAGE_SUFFIXES, load_or_skip

from .charset import Charset, UnknownCharacterError, ctc_frames_needed
from .config import RecognizerConfig
from .transforms import augment, preprocess


class DataError(ValueError):
    """A dataset folder or one of its labels cannot be used."""


@dataclass(frozen=True)
class Sample:
    path: Path
    text: str


def label_from_filename(name: str, sep: str | None = "_") -> str:
    """'1234.jpg' -> '1234'; with sep '_', '1234_7.jpg' -> '1234' (the part before the last sep)."""
    stem = Path(name).stem
    if sep and sep in stem:
        stem = stem.rsplit(sep, 1)[0]
    return stem


def read_folder(root: str | Path, label_sep: str | None = "_") -> list[Sample]:
    """List a folder's (image path, text) pairs, sorted by path; raises DataError when there are none."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    image_dir = root / "images" if (root / "images").is_dir() else root
    tsv = root / "labels.tsv"
    samples: list[Sample] = []
    if tsv.is_file():
        for n, line in enumerate(tsv.read_text(encoding="utf-8-sig").splitlines(), 1):
            if not line.strip():
                continue
            name, tab, text = line.partition("\t")
            if not tab or not name:
                raise DataError(f"{tsv}:{n}: expected '<file>\\t<text>', got {line!r}")
            samples.append(Sample(image_dir / name, text))
    else:
        for path in sorted(image_dir.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                samples.append(Sample(path, label_from_filename(path.name, label_sep)))
    if not samples:
        raise DataError(f"{root}: no labelled images found (expected labels.tsv or image files)")
    return sorted(samples, key=lambda s: str(s.path))


def encode_label(sample: Sample, charset: Charset, time_steps: int) -> list[int]:
    """A sample's label as indices; DataError naming the file when it is empty, holds an unknown character, or
    needs more CTC frames (length plus adjacent repeats) than the model has time steps."""
    if not sample.text:
        raise DataError(f"{sample.path}: empty label")
    try:
        labels = charset.encode(sample.text)
    except UnknownCharacterError as e:
        raise DataError(f"{sample.path}: {e}") from None
    if ctc_frames_needed(labels) > time_steps:
        raise DataError(f"{sample.path}: label {sample.text!r} needs {ctc_frames_needed(labels)} CTC frames "
                        f"(length plus adjacent repeats) but the model has {time_steps} time steps")
    return labels


def check_labels(samples: list[Sample], charset: Charset, time_steps: int) -> list[list[int]]:
    """Encode every label, or raise DataError naming the first file whose label cannot be learned."""
    return [encode_label(s, charset, time_steps) for s in samples]


def fit_labels(samples: list[Sample], charset: Charset, time_steps: int) -> tuple[list[Sample], list[list[int]], list[str]]:
    """(the samples whose labels can be learned, their encoded labels, why each other one was skipped).

    A big training set always holds a few labels that do not fit (an accent the charset lacks, a word too long
    for the time steps): they are skipped and counted, never a stop.
    """
    kept, encoded, skipped = [], [], []
    for s in samples:
        try:
            encoded.append(encode_label(s, charset, time_steps))
            kept.append(s)
        except DataError as e:
            skipped.append(str(e))
    return kept, encoded, skipped


class CropDataset(torch.utils.data.Dataset):
    """Yields (image tensor (C, H, W), label indices) or None for an unreadable image.

    An item is addressed as ``(index, seed)``; a non-negative seed turns on augmentation drawn from
    that seed, so a run's samples depend only on its step count (exact resume, any worker count).
    """

    def __init__(self, samples: list[Sample], labels: list[list[int]], cfg: RecognizerConfig, clutter: bool = False):
        self.samples, self.labels, self.cfg, self.clutter = samples, labels, cfg, clutter
        self._reported: set[Path] = set()

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item):
        index, seed = item if isinstance(item, tuple) else (item, -1)
        image = load_or_skip(self.samples[index].path, self._reported)
        if image is None:
            return None
        if seed >= 0:
            image = augment(image, np.random.default_rng(seed), self.clutter)
        return torch.from_numpy(preprocess(image, self.cfg)), self.labels[index]


def collate(batch):
    """Stack images and concatenate labels for CTC; unreadable samples (None) are dropped."""
    batch = [b for b in batch if b is not None]
    if not batch:
        return None
    images = torch.stack([b[0] for b in batch])
    lengths = torch.tensor([len(b[1]) for b in batch], dtype=torch.long)
    targets = torch.tensor([k for b in batch for k in b[1]], dtype=torch.long)
    return images, targets, lengths
