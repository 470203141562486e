"""Recognizer checkpoints: the engine's self-describing format plus the charset, and the shipped models."""
from __future__ import annotations

from pathlib import Path

from engine import checkpoint

from .charset import Charset
from .config import KIND, WEIGHTS_DIR, RecognizerConfig
from .model import CRNN



def shipped_models() -> list[str]:
    return checkpoint.shipped_names(WEIGHTS_DIR)


def resolve_weights(name_or_path: str | Path) -> Path:
    """A path to an existing file, or the name of a shipped model ('words', 'captcha', ...)."""
    return checkpoint.resolve_weights(name_or_path, WEIGHTS_DIR, KIND)


def make_checkpoint(model: CRNN, charset: Charset, summary: dict | None = None) -> dict:
    return checkpoint.make_checkpoint(KIND, model, model.cfg.to_dict(), summary, charset=charset.chars)


def read_checkpoint(path: str | Path) -> dict:
    return checkpoint.read_checkpoint(path, KIND)


def build_model(ckpt: dict, path: str | Path = "checkpoint") -> tuple[CRNN, Charset]:
    """The network (with its weights) and charset a checkpoint describes; ValueError naming ``path``."""
    try:
        cfg = RecognizerConfig.from_dict(ckpt["config"])
        charset = Charset(ckpt["charset"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: checkpoint does not fit its own description ({e.__class__.__name__}: {e})") from None
    model = CRNN(cfg, charset.num_classes)
    checkpoint.load_state(model, ckpt["state_dict"], path)
    return model, charset
