"""What every recognizer backend shares, torch-free: crops -> network input -> probabilities -> decoded text.

A backend (``recognizer.predict.Recognizer`` on torch, ``recognizer.onnx.OnnxRecognizer`` on onnxruntime)
only says how its network turns a batch into per-frame probabilities.
"""
from __future__ import annotations

import functools

import numpy as np

from .charset import Charset, Decoded, beam_decode, format_patterns, greedy_decode, pattern_decode
from .config import RecognizerConfig, RecognizerSettings
from .language import CharNGram, resolve_language_model
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

    @functools.cached_property
    def language_model(self) -> CharNGram | None:
        """The language model beam search uses with this reader's charset, if any (loaded on first use)."""
        if self.settings.decoder == "greedy" or self.settings.text_format:
            return None
        return resolve_language_model(self.settings.language_model, self.charset.chars)

    @property
    def decoding(self) -> str:
        """What ``decode`` does, in words (for reports)."""
        s = self.settings
        if s.text_format:
            return f"best path fitting {s.text_format}"
        if self.language_model:
            return (f"beam {s.beam_width} with the language model {self.language_model.name} "
                    f"(weight {s.lm_weight}, length bonus {s.length_bonus}, word bonus {s.word_bonus})")
        return f"beam {s.beam_width}" if s.decoder == "beam" else "greedy"

    def decode(self, probs: np.ndarray) -> Decoded:
        s = self.settings
        if s.text_format:  # a known format (plates): the best path whose text fits it
            return pattern_decode(probs, self.charset, format_patterns(s.text_format))
        if lm := self.language_model:
            return beam_decode(probs, self.charset, s.beam_width, language_model=lm, lm_weight=s.lm_weight,
                               length_bonus=s.length_bonus, word_bonus=s.word_bonus)
        if s.decoder == "beam":
            return beam_decode(probs, self.charset, s.beam_width)
        return greedy_decode(probs, self.charset)

    def __call__(self, crops: list[np.ndarray]) -> list[Decoded]:
        return [self.decode(p) for p in self.probabilities(crops)]


def softmax_frames(logits: np.ndarray) -> np.ndarray:
    """Logits (T, B, K) -> probabilities (B, T, K), float32."""
    z = logits.astype(np.float32) - logits.max(axis=2, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=2, keepdims=True)).transpose(1, 0, 2)
