"""Detector checkpoints (the engine's self-describing format) and the shipped models."""
from __future__ import annotations

from pathlib import Path

from engine import checkpoint

from .config import KIND, WEIGHTS_DIR, DetectorConfig
from .model import DBNet



def resolve_weights(name_or_path: str | Path) -> Path:
    """A path to an existing file, or the name of a shipped detector ('db')."""
    return checkpoint.resolve_weights(name_or_path, WEIGHTS_DIR, KIND)


def make_checkpoint(model: DBNet, summary: dict | None = None) -> dict:
    return checkpoint.make_checkpoint(KIND, model, model.cfg.to_dict(), summary)


def load_model(path: str | Path) -> tuple[DBNet, dict]:
    """The network a checkpoint file describes, with its weights, and its training summary."""
    ckpt = checkpoint.read_checkpoint(path, KIND)
    try:
        model = DBNet(DetectorConfig.from_dict(ckpt["config"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: checkpoint does not fit its own description ({e.__class__.__name__}: {e})") from None
    checkpoint.load_state(model, ckpt["state_dict"], path)
    return model, ckpt.get("summary", {})
