"""The CRNN network: a VGG-style or residual CNN, two bidirectional recurrent layers, a linear CTC head."""
from __future__ import annotations

import torch
from torch import nn

from engine.layers import BasicBlock, conv_bn

from .config import RecognizerConfig

BASE_CHANNELS = (64, 128, 256, 256, 512, 512, 512)
# ResNet backbone: stem, then stages at H/2, H/4, H/8, H/16, then the height-folding conv (times width_mult)
RESNET_CHANNELS = (32, 32, 64, 96, 160, 256)
RESNET_BLOCKS = (1, 2, 2, 1)


def _conv(cin: int, cout: int, kernel=3, padding=1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class CRNN(nn.Module):
    """Image (B, C, H, W) -> logits (T, B, K) with T = W / 4 and K = charset + blank (index 0).

    Pooling halves the width only twice, so every column of 4 pixels becomes one time step; the
    height is pooled to H / 16 and then folded away by a convolution spanning all remaining rows.
    """

    def __init__(self, cfg: RecognizerConfig, num_classes: int):
        super().__init__()
        self.cfg = cfg
        self.cnn, features = resnet_cnn(cfg) if cfg.backbone == "resnet" else vgg_cnn(cfg)
        rnn_cls = nn.LSTM if cfg.rnn == "lstm" else nn.GRU
        self.rnn = rnn_cls(features, cfg.hidden, num_layers=2, bidirectional=True)
        self.head = nn.Linear(2 * cfg.hidden, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.cnn(images)  # (B, C, 1, T)
        seq = features.squeeze(2).permute(2, 0, 1).contiguous()  # (T, B, C)
        seq, _ = self.rnn(seq)
        return self.head(seq)


def vgg_cnn(cfg: RecognizerConfig) -> tuple[nn.Sequential, int]:
    """The CRNN paper's VGG-style CNN, (B, C, H, W) -> (B, C', 1, W / 4), and C'."""
    c = [max(8, round(ch * cfg.width_mult)) for ch in BASE_CHANNELS]
    layers: list[nn.Module] = []
    layers += _conv(cfg.channels, c[0]) + [nn.MaxPool2d(2, 2)]  # H/2, W/2
    layers += _conv(c[0], c[1]) + [nn.MaxPool2d(2, 2)]  # H/4, W/4
    layers += _conv(c[1], c[2]) + _conv(c[2], c[3]) + [nn.MaxPool2d((2, 1), (2, 1))]  # H/8
    layers += _conv(c[3], c[4]) + _conv(c[4], c[5]) + [nn.MaxPool2d((2, 1), (2, 1))]  # H/16
    layers += _conv(c[5], c[6], kernel=(cfg.height // 16, 1), padding=0)  # height -> 1
    return nn.Sequential(*layers), c[6]


def resnet_cnn(cfg: RecognizerConfig) -> tuple[nn.Sequential, int]:
    """Residual stages in the spirit of the deep-text-recognition benchmark's ResNet, sized for a CPU:
    (B, C, H, W) -> (B, C', 1, W / 4). Width is halved twice (each time step sees 4 columns), height four times."""
    c = [max(8, round(ch * cfg.width_mult)) for ch in RESNET_CHANNELS]
    pools = [nn.MaxPool2d(2, 2), nn.MaxPool2d(2, 2), nn.MaxPool2d((2, 1), (2, 1)), nn.MaxPool2d((2, 1), (2, 1))]
    layers: list[nn.Module] = [conv_bn(cfg.channels, c[0])]
    cin = c[0]
    for pool, blocks, cout in zip(pools, RESNET_BLOCKS, c[1:5]):
        layers.append(pool)
        for _ in range(blocks):
            layers.append(BasicBlock(cin, cout))
            cin = cout
    layers.append(nn.Sequential(nn.Conv2d(cin, c[5], (cfg.height // 16, 1), bias=False), nn.BatchNorm2d(c[5]),
                                nn.ReLU(inplace=True)))  # height -> 1
    return nn.Sequential(*layers), c[5]
