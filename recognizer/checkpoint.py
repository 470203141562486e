"""Self-describing checkpoints and the shipped models.

A checkpoint is a plain dict (format, kind, config, charset, summary, state_dict) read with
``torch.load(weights_only=True)``, so a file alone rebuilds its model and cannot run code.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .charset import Charset
from .config import RecognizerConfig
from .model import CRNN

FORMAT = 1
KIND = "recognizer"
WEIGHTS_DIR = Path(__file__).parent / "weights"


def shipped_models() -> list[str]:
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))


def resolve_weights(name_or_path: str | Path) -> Path:
    """A path to an existing file, or the name of a shipped model ('captcha', 'captcha-v2', ...)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = WEIGHTS_DIR / f"{name_or_path}.pt"
    if shipped.is_file():
        return shipped
    raise FileNotFoundError(
        f"recognizer weights {str(name_or_path)!r} not found: not a file, nor a shipped model "
        f"(shipped: {', '.join(shipped_models()) or 'none'})"
    )


def make_checkpoint(model: CRNN, cfg: RecognizerConfig, charset: Charset, summary: dict | None = None) -> dict:
    state = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}
    return {
        "format": FORMAT,
        "kind": KIND,
        "config": cfg.to_dict(),
        "charset": charset.chars,
        "summary": dict(summary or {}),
        "state_dict": state,
    }


def read_checkpoint(path: str | Path) -> dict:
    """Load and check a checkpoint dict; raises ValueError naming the file when it is not one of ours."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such weight file") from None
    except Exception as e:  # torch raises many kinds for a damaged or foreign file
        raise ValueError(f"{path}: not a readable checkpoint ({e.__class__.__name__}: {e})") from None
    if isinstance(ckpt, dict) and "optimizer" in ckpt and isinstance(ckpt.get("model"), dict):
        raise ValueError(f"{path}: a training state for --resume, not a model: use best.pt from the same run folder")
    if not isinstance(ckpt, dict) or ckpt.get("kind") != KIND:
        raise ValueError(f"{path}: not a recognizer checkpoint")
    if ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {ckpt.get('format')} is not supported (expected {FORMAT})")
    return ckpt


def build_model(ckpt: dict) -> tuple[CRNN, RecognizerConfig, Charset]:
    try:
        cfg = RecognizerConfig.from_dict(ckpt["config"])
        charset = Charset(ckpt["charset"])
        model = CRNN(cfg, charset.num_classes)
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, RuntimeError, TypeError) as e:
        raise ValueError(f"checkpoint does not fit its own description ({e.__class__.__name__}: {e})") from None
    return model, cfg, charset
