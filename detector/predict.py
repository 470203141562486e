"""The Detector: a DBNet and its post-processing settings, finding words in batches of RGB images."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.inference import Predictor

from .checkpoint import load_model, resolve_weights
from .config import DetectorSettings
from .model import DBNet
from .postprocess import boxes_from_prob
from .transforms import normalize, resize_for_inference


@dataclass(frozen=True)
class Detections:
    quads: np.ndarray  # (N, 4, 2) float32, original image pixels, clockwise from each word's top-left
    scores: np.ndarray  # (N,) float32: mean text probability inside each region


class Detector(Predictor):
    """Finds words in RGB uint8 images of any size; see ``detector.postprocess`` for the thresholds.

    The network is copied (batch norm folded), so a model still in training can be validated through a
    Detector without being touched.
    """

    def __init__(self, model: DBNet, settings: DetectorSettings = DetectorSettings(), device: str = "auto", *,
                 path: Path | None = None, summary: dict | None = None):
        super().__init__(model, device, path, summary)
        self.settings, self.mean, self.std = settings, model.cfg.mean, model.cfg.std

    @classmethod
    def load(cls, weights: str | Path | None = None, settings: DetectorSettings = DetectorSettings(),
             device: str = "auto") -> "Detector":
        """From a shipped model name or a .pt file (default: ``settings.model``)."""
        model, summary = load_model(path := resolve_weights(weights or settings.model))
        return cls(model, settings, device, path=path, summary=summary)

    def probability(self, image: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        """The text probability map of one image at its inference size, and the factors back to the input."""
        return self.probabilities([image])[0]

    @torch.inference_mode()
    def probabilities(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, tuple[float, float]]]:
        """``probability`` for several images. Images resized to the same size share forward passes
        (``batch_size`` at a time); other sizes never share one, so no map depends on its neighbours."""
        resized = [resize_for_inference(image, self.settings.max_side) for image in images]
        groups: dict[tuple, list[int]] = {}
        for i, (r, _) in enumerate(resized):
            groups.setdefault(r.shape, []).append(i)
        maps: list = [None] * len(images)
        size = self.settings.batch_size
        for members in groups.values():
            for first in range(0, len(members), size):
                chunk = members[first : first + size]
                x = torch.from_numpy(np.stack([normalize(resized[i][0], self.mean, self.std) for i in chunk]))
                x = x.to(self.device)
                if self.device.type == "cpu":
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast("cuda", enabled=self.device.type == "cuda"):
                    prob = torch.sigmoid(self.model(x)["prob_logits"].float())[:, 0].cpu().numpy()
                for j, i in enumerate(chunk):
                    maps[i] = (prob[j], resized[i][1])
        return maps

    def boxes(self, prob: np.ndarray, scale: tuple[float, float]) -> Detections:
        """One probability map -> words in the input image's pixels.

        Not clipped to the image: clipping corners one by one would skew a box that sticks out, and the crop
        replicates the border anyway. Writers clip what they output.
        """
        s = self.settings
        quads, scores = boxes_from_prob(prob, scale, bin_thresh=s.bin_thresh, box_thresh=s.box_thresh,
                                        unclip_ratio=s.unclip_ratio)
        return Detections(np.asarray(quads, np.float32).reshape(-1, 4, 2), np.asarray(scores, np.float32))

    def __call__(self, images: list[np.ndarray]) -> list[Detections]:
        """Words in each image, in input order."""
        return [self.boxes(prob, scale) for prob, scale in self.probabilities(images)]
