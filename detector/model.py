"""DBNet: a ResNet-18-layout backbone (width multiplier), an FPN neck, and the differentiable-binarization head.

The network only maps an image to maps; turning maps into boxes lives in ``detector.postprocess``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.layers import BasicBlock, conv_bn

from .config import DetectorConfig


class Backbone(nn.Module):
    """ResNet-18 layout; returns features at strides 4, 8, 16, 32."""

    def __init__(self, width_mult: float):
        super().__init__()
        c = [max(8, round(ch * width_mult)) for ch in (64, 128, 256, 512)]
        self.channels = c
        self.stem = nn.Sequential(conv_bn(3, c[0] // 2, 3, 2), conv_bn(c[0] // 2, c[0], 3, 1), nn.MaxPool2d(3, 2, 1))
        cins = [c[0]] + c[:-1]
        self.stages = nn.ModuleList(
            nn.Sequential(BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1))
            for i, (cin, cout) in enumerate(zip(cins, c)))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class FPN(nn.Module):
    """Top-down feature pyramid fused at stride 4: (B, neck, H/4, W/4)."""

    def __init__(self, channels: list[int], neck: int):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, neck, 1, bias=False) for c in channels)
        self.smooth = nn.ModuleList(conv_bn(neck, neck // 4) for _ in channels)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        lat = [conv(f) for conv, f in zip(self.lateral, feats)]
        for i in range(len(lat) - 2, -1, -1):
            lat[i] = lat[i] + F.interpolate(lat[i + 1], size=lat[i].shape[-2:], mode="nearest")
        size = lat[0].shape[-2:]
        outs = [F.interpolate(smooth(level), size=size, mode="nearest") if i else smooth(level)
                for i, (smooth, level) in enumerate(zip(self.smooth, lat))]
        return torch.cat(outs, dim=1)


def _head(cin: int) -> nn.Sequential:
    """Stride-4 features -> one full-resolution map (logits)."""
    mid = max(8, cin // 4)
    return nn.Sequential(
        conv_bn(cin, mid), nn.ConvTranspose2d(mid, mid, 2, 2, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
        nn.ConvTranspose2d(mid, 1, 2, 2))


class DBNet(nn.Module):
    """Image (B, 3, H, W), H and W multiples of 32 -> maps at (B, 1, H, W).

    In eval mode returns {"prob_logits"}; in training also {"thresh", "binary"} (the threshold map in
    [0, 1] and the approximate binary map sigmoid(k (P - T))), which only the loss needs.
    """

    def __init__(self, cfg: DetectorConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = Backbone(cfg.width_mult)
        self.neck = FPN(self.backbone.channels, cfg.neck)
        self.prob_head = _head(cfg.neck)
        self.thresh_head = _head(cfg.neck)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        fused = self.neck(self.backbone(images))
        prob_logits = self.prob_head(fused)
        out = {"prob_logits": prob_logits}
        if self.training:
            thresh = torch.sigmoid(self.thresh_head(fused))
            out["thresh"] = thresh
            out["binary"] = torch.sigmoid(self.cfg.k * (torch.sigmoid(prob_logits) - thresh))
        return out


