"""The recognizer on onnxruntime (imports no torch), and its export from a torch Recognizer."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.onnx import OnnxNetwork, export, find_export

from .charset import Charset
from .config import KIND, WEIGHTS_DIR, RecognizerConfig, RecognizerSettings
from .reader import Reader, softmax_frames


def onnx_path(name_or_path: str | Path) -> Path:
    """The .onnx file for a model: the path itself, the export beside a .pt file, or a shipped model's export."""
    return find_export(name_or_path, WEIGHTS_DIR, KIND)


class OnnxRecognizer(Reader):
    """``Reader`` on onnxruntime: the same readings as the torch Recognizer, without torch."""

    def __init__(self, network: OnnxNetwork, settings: RecognizerSettings = RecognizerSettings()):
        d = network.described_as(KIND)
        self.network, self.path, self.settings = network, network.path, settings
        self.cfg, self.charset, self.summary = RecognizerConfig.from_dict(d["config"]), Charset(d["charset"]), d.get("summary", {})

    @classmethod
    def load(cls, weights: str | Path | None = None, settings: RecognizerSettings = RecognizerSettings(),
             threads: int | None = None) -> "OnnxRecognizer":
        return cls(OnnxNetwork(onnx_path(weights or settings.model), threads), settings)

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        return softmax_frames(self.network(batch))


def export_recognizer(recognizer, path: str | Path) -> Path:
    """Write a torch ``Recognizer``'s network (batch norm folded) as ONNX, with its config and charset."""
    example = np.zeros((1, recognizer.cfg.channels, recognizer.cfg.height, recognizer.cfg.width), np.float32)
    import torch

    return export(recognizer.model, torch.from_numpy(example), path,
                  {"images": {0: "batch", 3: "width"}, "logits": {0: "time", 1: "batch"}},
                  {"kind": KIND, "config": recognizer.cfg.to_dict(), "charset": recognizer.charset.chars,
                   "summary": {k: v for k, v in recognizer.summary.items() if isinstance(v, (str, int, float))}})
