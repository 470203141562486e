"""The detector on onnxruntime (imports no torch), and its export from a torch Detector."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.onnx import OnnxNetwork, export, find_export

from .config import KIND, WEIGHTS_DIR, DetectorConfig, DetectorSettings
from .finder import Finder


def onnx_path(name_or_path: str | Path) -> Path:
    """The .onnx file for a model: the path itself, the export beside a .pt file, or a shipped model's export."""
    return find_export(name_or_path, WEIGHTS_DIR, KIND)


class OnnxDetector(Finder):
    """``Finder`` on onnxruntime: the same boxes as the torch Detector, without torch."""

    def __init__(self, network: OnnxNetwork, settings: DetectorSettings = DetectorSettings()):
        description = network.described_as(KIND)
        cfg = DetectorConfig.from_dict(description["config"])
        self.network, self.path, self.settings, self.mean, self.std = network, network.path, settings, cfg.mean, cfg.std
        self.summary = description.get("summary", {})

    @classmethod
    def load(cls, weights: str | Path | None = None, settings: DetectorSettings = DetectorSettings(),
             threads: int | None = None) -> "OnnxDetector":
        return cls(OnnxNetwork(onnx_path(weights or settings.model), threads), settings)

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        return self.network(batch)


def export_detector(detector, path: str | Path) -> Path:
    """Write a torch ``Detector``'s network (batch norm folded) as ONNX: images -> text probability maps."""
    import torch

    class ProbabilityMap(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return torch.sigmoid(self.net(x)["prob_logits"])[:, 0]

    cfg = detector.model.cfg
    return export(ProbabilityMap(detector.model), torch.zeros(1, 3, 64, 64), path,
                  {"images": {0: "batch", 2: "height", 3: "width"}, "prob": {0: "batch", 1: "height", 2: "width"}},
                  {"kind": KIND, "config": cfg.to_dict(),
                   "summary": {k: v for k, v in detector.summary.items() if isinstance(v, (str, int, float))}})
