"""The detector on onnxruntime (imports no torch), and its export from a torch Detector."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from engine.onnx import OnnxNetwork, export, find_export, quantize_int8

from .config import KIND, WEIGHTS_DIR, DetectorConfig, DetectorSettings
from .finder import Finder


# Calibration runs every layer's output through the quantizer at once: a page-sized input would take gigabytes.
CALIBRATION_PIXELS = 1_000_000


def onnx_path(name_or_path: str | Path, int8: bool = False) -> Path:
    """The .onnx file for a model: the path itself, the export beside a .pt file, or a shipped model's export;
    with ``int8``, its int8 copy (``int8_path``) where there is one."""
    path = find_export(name_or_path, WEIGHTS_DIR, KIND)
    return int8_path(path) if int8 and int8_path(path).is_file() else path


def int8_path(export_path: str | Path) -> Path:
    """Where an export's int8 copy goes: db.onnx -> db.int8.onnx."""
    path = Path(export_path)
    return path.with_name(path.name.removesuffix(".onnx") + ".int8.onnx")


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
        return cls(OnnxNetwork(onnx_path(weights or settings.model, settings.int8), threads), settings)

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        return self.network(batch)


class _Recording(OnnxDetector):
    """An OnnxDetector that keeps what its network is given."""

    def __init__(self, network: OnnxNetwork, settings: DetectorSettings):
        super().__init__(network, settings)
        self.inputs: list[np.ndarray] = []

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        self.inputs.append(batch)
        return super()._forward(batch)


def quantize_detector(export_path: str | Path, images: list[np.ndarray], settings: DetectorSettings
                      ) -> tuple[Path, float]:
    """Write the int8 copy of a detector export (``int8_path``), calibrated on the network's inputs for ``images``
    read with ``settings`` (pages' enlarged passes included, those over CALIBRATION_PIXELS left out). Returns its
    path and the mean difference of its probability maps from the export's on those images."""
    float_settings = dataclasses.replace(settings, int8=False)
    recorder = _Recording(OnnxNetwork(export_path), float_settings)
    recorder(images)
    samples = [x for batch in recorder.inputs for x in np.split(batch, len(batch))
               if x.shape[2] * x.shape[3] <= CALIBRATION_PIXELS]
    if not samples:
        raise ValueError(f"none of the {len(images)} calibration images is read at {CALIBRATION_PIXELS:,} pixels "
                         "or fewer")
    path = quantize_int8(export_path, int8_path(export_path), samples, keep_float=("prob_head",))
    quantized = OnnxNetwork(path)
    difference = float(np.mean([np.abs(quantized(x) - recorder.network(x)).mean() for x in samples]))
    return path, difference


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
