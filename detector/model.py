"""DBNet: a ResNet-18-layout backbone (width multiplier), an FPN neck, and the differentiable-binarization head.

The network only maps an image to maps; turning maps into boxes lives in ``detector.postprocess``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

SIZES = {"half": {"width_mult": 0.5, "neck": 64}, "full": {"width_mult": 1.0, "neck": 128}}


@dataclass(frozen=True)
class DetectorConfig:
    width_mult: float = 0.5  # ResNet-18 stage widths (64, 128, 256, 512) times this
    neck: int = 64  # FPN channels; each of the 4 levels contributes neck // 4 to the fused map
    k: float = 50.0  # steepness of the approximate binarization
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)  # input normalization (RGB, 0..1)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __post_init__(self):
        if self.width_mult <= 0 or self.neck < 4 or self.neck % 4:
            raise ValueError("width_mult must be positive and neck a positive multiple of 4")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DetectorConfig":
        known = {f.name for f in fields(cls)}
        if set(d) - known:
            raise ValueError(f"unknown detector config keys: {sorted(set(d) - known)}")
        d = dict(d)
        for key in ("mean", "std"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


def conv_bn(cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride)
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if stride == 1 and cin == cout else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.skip(x))


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
        outs = [F.interpolate(s(l), size=size, mode="nearest") if i else s(l)
                for i, (s, l) in enumerate(zip(self.smooth, lat))]
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


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def fuse_batchnorm(model: nn.Module) -> nn.Module:
    """Fold each BatchNorm2d into the Conv2d just before it in any Sequential, in place; inference only.

    Outputs stay the same up to rounding; CPU inference gets faster (batch norm is a separate pass over
    every feature map otherwise). The model can no longer be trained afterwards.
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
