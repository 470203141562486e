"""Self-describing checkpoints, shared by both stages.

A model checkpoint is a plain dict ``{"format", "kind", "config", "summary", "state_dict", ...}`` (a stage
may add keys, e.g. the recognizer's charset) read with ``torch.load(weights_only=True)``: a file alone
rebuilds its model and cannot run code. A training state (``last.pt``) wraps one under ``"model"`` beside
the optimizer; it is refused where a model is expected.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

FORMAT = 1


def make_checkpoint(kind: str, model: nn.Module, config: dict, summary: dict | None = None, **extra) -> dict:
    """A model checkpoint: a CPU copy of the weights plus everything needed to rebuild the network."""
    state = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}
    return {"format": FORMAT, "kind": kind, "config": config, **extra, "summary": dict(summary or {}),
            "state_dict": state}


def save_atomic(obj: dict, path: str | Path) -> None:
    """torch.save through a temporary file, so a crash never leaves a half-written checkpoint behind."""
    path = Path(path)
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def shipped_names(weights_dir: Path) -> list[str]:
    return sorted(p.stem for p in weights_dir.glob("*.pt"))


def resolve_weights(name_or_path: str | Path, weights_dir: Path, kind: str) -> Path:
    """A path to an existing file, or the name of a model shipped in ``weights_dir``."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = weights_dir / f"{name_or_path}.pt"
    if shipped.is_file():
        return shipped
    raise FileNotFoundError(f"{kind} weights {str(name_or_path)!r} not found: not a file, nor a shipped model "
                            f"(shipped: {', '.join(shipped_names(weights_dir)) or 'none'})")


def read_checkpoint(path: str | Path, kind: str) -> dict:
    """Load a model checkpoint of ``kind``; raises ValueError naming the file when it is not one."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such weight file") from None
    except Exception as e:  # torch raises many kinds for a damaged or foreign file
        raise ValueError(f"{path}: not a readable checkpoint ({e.__class__.__name__}: {e})") from None
    if isinstance(ckpt, dict) and "optimizer" in ckpt and isinstance(ckpt.get("model"), dict):
        raise ValueError(f"{path}: a training state for --resume, not a model: use best.pt from the same run folder")
    if not isinstance(ckpt, dict) or ckpt.get("kind") != kind:
        found = ckpt.get("kind") if isinstance(ckpt, dict) else None
        raise ValueError(f"{path}: not a {kind} checkpoint" + (f" (a {found} checkpoint)" if found else ""))
    if ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: checkpoint format {ckpt.get('format')} is not supported (expected {FORMAT})")
    return ckpt


def load_state(model: nn.Module, state_dict: dict, path: str | Path) -> None:
    """Load weights into a network built from the checkpoint's own config; ValueError when they do not fit."""
    try:
        model.load_state_dict(state_dict)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"{path}: checkpoint does not fit its own description ({e.__class__.__name__}: {e})") from None
