"""The Recognizer: a CRNN and its charset on torch, reading batches of upright crops."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from engine.inference import Predictor

from .charset import Charset
from .checkpoint import build_model, read_checkpoint, resolve_weights
from .config import RecognizerSettings
from .model import CRNN
from .reader import Reader

# On CPU, batches smaller than this run on one thread: handing each small op to a second thread
# costs more than it saves (measured on 2 cores, network alone at batch 1: 89 -> 258 crops/s).
SINGLE_THREAD_BELOW = 16


class Recognizer(Reader, Predictor):
    """The torch backend of ``Reader``. The network is copied (batch norm folded), so a model still in training
    can be validated through a Recognizer without being touched."""

    def __init__(self, model: CRNN, charset: Charset, settings: RecognizerSettings = RecognizerSettings(),
                 device: str = "auto", *, path: Path | None = None, summary: dict | None = None):
        super().__init__(model, device, path, summary)
        self.cfg, self.charset, self.settings = model.cfg, charset, settings

    @classmethod
    def load(cls, weights: str | Path | None = None, settings: RecognizerSettings = RecognizerSettings(),
             device: str = "auto") -> "Recognizer":
        """From a shipped model name or a .pt file (default: ``settings.model``)."""
        ckpt = read_checkpoint(path := resolve_weights(weights or settings.model))
        return cls(*build_model(ckpt, path), settings, device, path=path, summary=ckpt.get("summary", {}))

    @torch.inference_mode()
    def _forward(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch).to(self.device)
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
