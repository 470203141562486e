"""The Detector: a DBNet on torch and its post-processing settings, finding words in batches of RGB images."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from engine.inference import Predictor

from .checkpoint import load_model, resolve_weights
from .config import DetectorSettings
from .finder import Detections, Finder  # noqa: F401 (Detections: part of this module's API)
from .model import DBNet


class Detector(Finder, Predictor):
    """The torch backend of ``Finder``. The network is copied (batch norm folded), so a model still in training
    can be validated through a Detector without being touched."""

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

    @torch.inference_mode()
    def _forward(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch).to(self.device)
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", enabled=self.device.type == "cuda"):
            return torch.sigmoid(self.model(x)["prob_logits"].float())[:, 0].cpu().numpy()
