"""Running a trained network: device choice, batch-norm folding, and the predictor's private copy."""
from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn


def resolve_device(device: str) -> torch.device:
    """'auto' (CUDA when available), 'cpu' or 'cuda'; ValueError for anything else or a missing GPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but CUDA is not available")
    return torch.device(device)


@torch.no_grad()
def fuse_batchnorm(model: nn.Module) -> nn.Module:
    """Fold each BatchNorm2d into the Conv2d just before it in any Sequential, in place; inference only.

    Outputs stay the same up to rounding and CPU inference gets faster (batch norm is otherwise a separate
    pass over every feature map: a third of the CRNN's time). The model can no longer be trained.
    """
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        layers = list(seq)
        for i in range(len(layers) - 1):
            conv, bn = layers[i], layers[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
                conv.weight.mul_(scale[:, None, None, None])
                conv.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias)
                seq[i + 1] = nn.Identity()
    return model


def inference_copy(model: nn.Module, device: str = "auto") -> tuple[nn.Module, torch.device]:
    """A private copy of ``model`` for inference (eval mode, batch norm folded, NHWC on CPU) and its device.

    A copy, so a network still in training is never modified by the predictor validating it.
    """
    dev = resolve_device(device)
    model = fuse_batchnorm(copy.deepcopy(model).eval()).to(dev)
    if dev.type == "cpu":
        model.to(memory_format=torch.channels_last)  # NHWC convolutions are markedly faster on CPU
    return model, dev


class Predictor:
    """What the Detector and the Recognizer share: a private inference copy of their network (see
    ``inference_copy``) and, for a loaded model, the file it came from and its training summary."""

    def __init__(self, model: nn.Module, device: str = "auto", path: Path | None = None, summary: dict | None = None):
        self.model, self.device = inference_copy(model, device)
        self.path, self.summary = path, summary or {}
