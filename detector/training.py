"""The DBNet training loop: step-defined schedule, H-mean validation, checkpoints, exact resume.

A run directory holds ``last.pt`` (to resume), ``best.pt`` (best validation H-mean, a detector
checkpoint) and ``metrics.jsonl``. Step s trains on crops drawn from (seed, s) alone, so a resumed
run continues exactly, whatever the worker count.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .data import ImageAnnotation
from .dataset import DetectionDataset, collate, read_rgb
from .losses import db_loss
from .metrics import DetectionScore
from .model import DBNet, DetectorConfig
from .predict import Detector, make_checkpoint


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 20000
    batch_size: int = 8
    crop_size: int = 640
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 300
    seed: int = 0
    val_every: int = 1000
    log_every: int = 20

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then the polynomial decay (power 0.9) DBNet trains with."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    return cfg.lr * (1 - min(step, cfg.steps - 1) / cfg.steps) ** 0.9


def step_batch(n: int, step: int, cfg: TrainConfig) -> list[tuple[int, int]]:
    """Batch ``step``: images from a per-epoch permutation seeded by (seed, epoch), one crop seed each."""
    per_epoch = max(1, n // cfg.batch_size)
    epoch, k = divmod(step, per_epoch)
    perm = np.random.default_rng([cfg.seed, epoch]).permutation(n)
    idx = np.resize(perm, (per_epoch + 1) * cfg.batch_size)[k * cfg.batch_size : (k + 1) * cfg.batch_size]
    return [(int(i), (cfg.seed * 1_000_003 + step) * 4096 + j) for j, i in enumerate(idx)]


def evaluate(model: DBNet, annotations: list[ImageAnnotation], max_side: int, device: str) -> dict:
    detector = Detector(model, max_side=max_side, device=device)
    score = DetectionScore()
    for ann in annotations:
        try:
            image = read_rgb(ann.image)
        except ValueError as e:  # one bad validation image must not end an hours-long run
            print(f"warning: validation skips {e}", file=sys.stderr)
            continue
        dets = detector([image])[0]
        score.add(ann.polygons, ann.ignore, list(dets.quads))
    return score.as_dict()


def _worker_init(_):
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def _save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _open_log(path: Path, step: int):
    """The metrics log, opened for appending after dropping lines past ``step``: a run stopped between
    checkpoints logged steps that its resumed run will log again."""
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.strip() and json.loads(line)["step"] <= step]
        if len(kept) < len(lines):
            path.write_text("".join(kept), encoding="utf-8")
    return open(path, "a", encoding="utf-8")


def train(run_dir: str | Path, train_set: list[ImageAnnotation], val_set: list[ImageAnnotation], model_cfg: DetectorConfig,
          cfg: TrainConfig, *, resume: bool = False, device: str = "cpu", workers: int = 2,
          max_minutes: float | None = None, checkpoint_minutes: float = 5.0, val_max_side: int = 1280,
          progress: bool = True, should_stop=None) -> dict:
    """Train (or resume) a run; returns its summary. ``should_stop()`` is asked after every step."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    dev = torch.device(device)
    use_amp = dev.type == "cuda"
    torch.manual_seed(cfg.seed)  # the initial weights follow the run's seed too
    model = DBNet(model_cfg).to(dev)
    if dev.type == "cpu":
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    step, best, samples_seen, seconds = 0, -1.0, 0, 0.0
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    if resume:
        state = torch.load(last_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"]["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        step, best, samples_seen, seconds = state["step"], state["best"], state["samples_seen"], state["seconds"]

    dataset = DetectionDataset(train_set, cfg.crop_size, model_cfg.mean, model_cfg.std)
    batches = [step_batch(len(dataset), s, cfg) for s in range(step, cfg.steps)]
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=batches, collate_fn=collate, num_workers=workers,
                                         worker_init_fn=_worker_init, pin_memory=use_amp)
    log_file = _open_log(run_dir / "metrics.jsonl", step)

    def summary() -> dict:
        return {"steps": step, "samples_seen": samples_seen, "train_minutes": round(seconds / 60, 2),
                "best_val_hmean": best, "train_images": len(train_set), "val_images": len(val_set),
                "train_config": asdict(cfg), "device": dev.type}

    def save_last():
        _save({"model": make_checkpoint(model), "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
               "step": step, "best": best, "samples_seen": samples_seen, "seconds": seconds,
               "train_config": asdict(cfg)}, last_path)

    def log(record: dict):
        log_file.write(json.dumps({"step": step, "samples_seen": samples_seen, **record}) + "\n")
        log_file.flush()

    start = session_start = last_ckpt = window_start = time.time()
    window, window_n, window_samples = {}, 0, 0
    stopped_early = False
    model.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="train", unit="step", disable=not progress, dynamic_ncols=True)
    try:
        for batch in loader:
            if batch is not None:
                images, targets = batch
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, cfg)
                x, targets = images.to(dev, non_blocking=True), targets.to(dev, non_blocking=True)
                if dev.type == "cpu":
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast("cuda", enabled=use_amp):
                    outputs = model(x)
                loss, parts = db_loss(outputs, targets)  # in fp32
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                scaler.step(optimizer)
                scaler.update()
                for k, v in {"loss": loss.item(), **parts}.items():
                    window[k] = window.get(k, 0.0) + v
                window_n += 1
                samples_seen += x.shape[0]
                window_samples += x.shape[0]
            step += 1
            bar.update(1)
            now = time.time()
            seconds += now - start
            start = now
            if step % cfg.log_every == 0 and window_n:
                record = {k: v / window_n for k, v in window.items()}
                record.update(lr=lr_at(step - 1, cfg), samples_per_s=window_samples / max(now - window_start, 1e-9))
                log(record)
                bar.set_postfix(loss=f"{record['loss']:.3f}")
                window, window_n, window_samples, window_start = {}, 0, 0, now
            if val_set and (step % cfg.val_every == 0 or step == cfg.steps):
                m = evaluate(model, val_set, val_max_side, device)
                model.train()
                log({"val_" + k: v for k, v in m.items()})
                if m["hmean"] > best:
                    best = m["hmean"]
                    _save(make_checkpoint(model, summary()), best_path)
                bar.set_postfix(hmean=f"{m['hmean']:.3f}")
                start = time.time()  # validation is not training time
            if now - last_ckpt >= checkpoint_minutes * 60 or step == cfg.steps:
                save_last()
                last_ckpt = now
            out_of_time = max_minutes is not None and now - session_start >= max_minutes * 60
            if (out_of_time or (should_stop is not None and should_stop())) and step < cfg.steps:
                stopped_early = True  # at a step boundary, so the saved state resumes exactly
                break
    finally:
        save_last()  # whatever stops the loop, the last step is kept for --resume
        if not val_set:
            _save(make_checkpoint(model, summary()), best_path)
        bar.close()
        log_file.close()
    result = summary()
    result["finished"] = not stopped_early and step >= cfg.steps
    return result
