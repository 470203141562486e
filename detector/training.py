"""Training DBNet: its losses, schedule and H-mean validation, on the engine's loop."""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from engine.images import load_image
from engine.training import TrainConfig as BaseTrainConfig
from engine.training import fit, forward, warmup

from .checkpoint import load_model, make_checkpoint, resolve_weights
from .config import DetectorConfig, DetectorSettings
from .data import ImageAnnotation
from .dataset import DetectionDataset, collate
from .losses import db_loss
from .metrics import DetectionScore
from .model import DBNet
from .predict import Detector


@dataclass(frozen=True)
class TrainConfig(BaseTrainConfig):
    steps: int = 20000
    batch_size: int = 8
    crop_size: int = 640
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 300
    val_every: int = 1000
    log_every: int = 20
    word_heights: tuple[float, float] | None = None  # crops scaled to these median word heights (else 0.5-1.6x)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then the polynomial decay (power 0.9) DBNet trains with."""
    rate = warmup(step, cfg)
    return rate if rate is not None else cfg.lr * (1 - min(step, cfg.steps - 1) / cfg.steps) ** 0.9


def detection_loss(model: DBNet, batch, device: torch.device) -> tuple[torch.Tensor, dict, int]:
    images, targets = batch
    outputs = forward(model, images, device)
    loss, parts = db_loss({k: v.float() for k, v in outputs.items()}, targets.to(device, non_blocking=True))
    return loss, parts, images.shape[0]


def evaluate(detector: Detector, annotations: list[ImageAnnotation]) -> dict:
    """ICDAR 2015 detection scores of ``detector`` on labelled images; an unreadable image is named and skipped."""
    score = DetectionScore()
    for ann in annotations:
        try:
            image = load_image(ann.image)
        except ValueError as e:  # one bad validation image must not end an hours-long run
            print(f"warning: validation skips {e}", file=sys.stderr)
            continue
        score.add(ann.polygons, ann.ignore, list(detector([image])[0].quads))
    return score.as_dict()


def train(run_dir: str | Path, train_set: list[ImageAnnotation], val_set: list[ImageAnnotation], model_cfg: DetectorConfig,
          cfg: TrainConfig, *, init: str | None = None, resume: bool = False, device: str = "auto", workers: int = 2,
          max_minutes: float | None = None, checkpoint_minutes: float = 5.0, val_max_side: int = 1280,
          progress: bool = True, should_stop=None, fp32: bool = False) -> dict:
    """Train (or resume) a detector run, fresh or from ``init`` (a shipped name or a .pt file of the same network);
    returns its summary (``best_val_hmean``)."""
    torch.manual_seed(cfg.seed)  # the initial weights follow the run's seed too
    model = DBNet(model_cfg)
    if init and not resume:
        start, _ = load_model(resolve_weights(init))
        if start.cfg != model_cfg:
            raise ValueError(f"--init {init}: its network ({start.cfg}) is not this run's ({model_cfg})")
        model.load_state_dict(start.state_dict())
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    settings = replace(DetectorSettings(), max_side=val_max_side)
    validate = (lambda m: evaluate(Detector(m, settings, device), val_set)) if val_set else None
    return fit(run_dir, model, optimizer, DetectionDataset(train_set, cfg.crop_size, model_cfg.mean, model_cfg.std,
                                                       cfg.word_heights),
               collate, cfg, lr_at=lambda step, end: lr_at(step, cfg), loss_fn=detection_loss, validate=validate,
               model_checkpoint=make_checkpoint, score_key="hmean", resume=resume, device=device, workers=workers,
               max_minutes=max_minutes, checkpoint_minutes=checkpoint_minutes, progress=progress,
               should_stop=should_stop, summary={"train_images": len(train_set), "val_images": len(val_set)}, fp32=fp32)
