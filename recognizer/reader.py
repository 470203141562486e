"""What every recognizer backend shares, torch-free: crops -> network input -> probabilities -> decoded text.

A backend (``recognizer.predict.Recognizer`` on torch, ``recognizer.onnx.OnnxRecognizer`` on onnxruntime)
only says how its network turns a batch into per-frame probabilities.
"""
from __future__ import annotations

import numpy as np

from .charset import Charset, Decoded, beam_decode, format_patterns, greedy_decode, pattern_decode
from .config import RecognizerConfig, RecognizerSettings
from .transforms import preprocess


class Reader:
    """Reads text from upright crops of any size (RGB uint8 (H, W, 3) or gray (H, W) numpy arrays).

    Each crop is resized as the model's config says, read by the network, and decoded greedily or by beam
    search; see ``recognizer.charset`` for the confidence definition.
    """

    cfg: RecognizerConfig
    charset: Charset
    settings: RecognizerSettings

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        """(B, C, H, W) float32 in [-1, 1] -> (B, T, K) probabilities."""
        raise NotImplementedError

    def probabilities(self, crops: list[np.ndarray]) -> np.ndarray:
        """Crops -> per-frame character probabilities (N, T, K), float32."""
        out, size = [], self.settings.batch_size
        for i in range(0, len(crops), size):
            out.append(self._forward(np.stack([preprocess(c, self.cfg) for c in crops[i : i + size]])))
        if not out:
            return np.zeros((0, self.cfg.time_steps, self.charset.num_classes), np.float32)
        return np.concatenate(out)

    def decode(self, probs: np.ndarray) -> Decoded:
        if self.settings.text_format:  # a known format (plates): the best path whose text fits it
            return pattern_decode(probs, self.charset, format_patterns(self.settings.text_format))
        if self.settings.decoder == "beam":
            return beam_decode(probs, self.charset, self.settings.beam_width)
        return greedy_decode(probs, self.charset)

    def __call__(self, crops: list[np.ndarray]) -> list[Decoded]:
        return [self.decode(p) for p in self.probabilities(crops)]


def softmax_frames(logits: np.ndarray) -> np.ndarray:
    """Logits (T, B, K) -> probabilities (B, T, K), float32."""
    z = logits.astype(np.float32) - logits.max(axis=2, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=2, keepdims=True)).transpose(1, 0, 2)
