"""Training samples for the detector: augmented crops with their DBNet target maps."""
from __future__ import annotations

import numpy as np
import torch

from engine.images import load_or_skip

from .data import ImageAnnotation
from .labels import make_targets
from .transforms import normalize, random_crop_sample


class DetectionDataset(torch.utils.data.Dataset):
    """Item ``(index, seed)`` -> (image (3, S, S) float32, targets (4, S, S) float32) or None if unreadable.

    Targets are stacked as prob, prob_mask, thresh, thresh_mask. The crop and its augmentation come from
    ``seed`` alone, so a run's samples depend only on its step count.
    """

    def __init__(self, annotations: list[ImageAnnotation], crop_size: int, mean, std, word_heights=None):
        self.annotations, self.crop_size, self.mean, self.std = annotations, crop_size, mean, std
        self.word_heights = word_heights  # see transforms.random_crop_sample
        self._reported: set = set()

    def __len__(self) -> int:
        return len(self.annotations)

    def __getitem__(self, item):
        index, seed = item
        ann = self.annotations[index]
        image = load_or_skip(ann.image, self._reported)
        if image is None:
            return None
        rng = np.random.default_rng(seed)
        crop, polys, ignore = random_crop_sample(image, ann.polygons, ann.ignore, rng, self.crop_size,
                                                  word_heights=self.word_heights)
        t = make_targets(polys, ignore, self.crop_size, self.crop_size)
        targets = np.stack([t["prob"], t["prob_mask"], t["thresh"], t["thresh_mask"]])
        return torch.from_numpy(normalize(crop, self.mean, self.std)), torch.from_numpy(targets)


def collate(batch):
    batch = [b for b in batch if b is not None]
    if not batch:
        return None
    return torch.stack([b[0] for b in batch]), torch.stack([b[1] for b in batch])
