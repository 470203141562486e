"""The Recognizer: load a checkpoint once, read batches of upright crops."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .charset import Decoded, beam_decode, greedy_decode
from .checkpoint import build_model, read_checkpoint, resolve_weights
from .model import fuse_batchnorm
from .transforms import preprocess

DECODERS = ("greedy", "beam")
# On CPU, batches smaller than this run on one thread: handing each small op to a second thread
# costs more than it saves (measured on 2 cores, network alone at batch 1: 89 -> 258 crops/s).
SINGLE_THREAD_BELOW = 16


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but CUDA is not available")
    return torch.device(device)


class Recognizer:
    """Reads text from upright crops of any size (RGB uint8 (H, W, 3) numpy arrays).

    Each crop is resized as its checkpoint says, read by the CRNN, and decoded greedily or by beam
    search; see ``recognizer.charset`` for the confidence definition.
    """

    def __init__(self, weights: str | Path, decoder: str = "greedy", beam_width: int = 10,
                 device: str = "auto", batch_size: int = 64):
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.path = resolve_weights(weights)
        ckpt = read_checkpoint(self.path)
        try:
            self.model, self.cfg, self.charset = build_model(ckpt)
        except ValueError as e:
            raise ValueError(f"{self.path}: {e}") from None
        self.summary = ckpt.get("summary", {})
        self.decoder, self.beam_width, self.batch_size = decoder, beam_width, batch_size
        self.device = resolve_device(device)
        self.model = fuse_batchnorm(self.model.eval()).to(self.device)
        if self.device.type == "cpu":
            # NHWC convolutions are markedly faster on CPU for this network.
            self.model.to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def probabilities(self, crops: list[np.ndarray]) -> np.ndarray:
        """Crops -> per-frame character probabilities (N, T, K), float32."""
        out = []
        for i in range(0, len(crops), self.batch_size):
            batch = np.stack([preprocess(c, self.cfg) for c in crops[i : i + self.batch_size]])
            out.append(self._forward(torch.from_numpy(batch)))
        if not out:
            return np.zeros((0, self.cfg.time_steps, self.charset.num_classes), np.float32)
        return np.concatenate(out)

    def _forward(self, x: torch.Tensor) -> np.ndarray:
        """(B, C, H, W) float -> (B, T, K) probabilities."""
        x = x.to(self.device)
        threads = torch.get_num_threads()
        single = self.device.type == "cpu" and x.shape[0] < SINGLE_THREAD_BELOW and threads > 1
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        try:
            if single:
                torch.set_num_threads(1)
            with torch.autocast("cuda", enabled=self.device.type == "cuda"):
                logits = self.model(x)
        finally:
            if single:
                torch.set_num_threads(threads)
        return logits.float().softmax(2).permute(1, 0, 2).cpu().numpy()

    def decode(self, probs: np.ndarray) -> Decoded:
        if self.decoder == "beam":
            return beam_decode(probs, self.charset, self.beam_width)
        return greedy_decode(probs, self.charset)

    def __call__(self, crops: list[np.ndarray]) -> list[Decoded]:
        return [self.decode(p) for p in self.probabilities(crops)]
