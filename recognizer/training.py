"""The CRNN training loop: CTC loss, step-defined schedule, validation, checkpoints, exact resume.

A run directory holds ``last.pt`` (everything needed to resume), ``best.pt`` (the best model by
validation sequence accuracy, a self-describing recognizer checkpoint) and ``metrics.jsonl``.
Which samples and augmentations a step sees depends only on (seed, step), so a resumed run
continues exactly where it stopped, whatever the worker count.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .charset import BLANK, Charset
from .checkpoint import build_model, make_checkpoint
from .config import RecognizerConfig
from .dataset import CropDataset, DataError, Sample, check_labels, collate
from .metrics import text_metrics
from .model import CRNN
from .predict import resolve_device


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 10000  # schedule length in optimizer steps
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 200
    anneal_fraction: float = 0.3  # the learning rate is flat, then cosine-decays over this last part
    augment: bool = True
    seed: int = 0
    val_every: int = 500  # steps between validations
    log_every: int = 50  # steps between metric log lines

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, a long flat stretch (CTC must leave its plateau first), then cosine decay."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    anneal_start = cfg.steps * (1 - cfg.anneal_fraction)
    if step < anneal_start:
        return cfg.lr
    progress = (step - anneal_start) / max(1.0, cfg.steps - anneal_start)
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


class StepBatches:
    """Batch sampler: step s draws batch s of a per-epoch permutation seeded by (seed, epoch).

    Each item is ``(index, augmentation seed)``, the seed being -1 when augmentation is off.
    """

    def __init__(self, n: int, batch_size: int, seed: int, start: int, stop: int, augment: bool):
        self.n, self.bs, self.seed, self.start, self.stop, self.augment = n, min(batch_size, n), seed, start, stop, augment

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def batch(self, step: int) -> list[tuple[int, int]]:
        per_epoch = self.n // self.bs
        epoch, k = divmod(step, per_epoch)
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        idx = perm[k * self.bs : (k + 1) * self.bs]
        return [(int(i), (self.seed * 1_000_003 + step) * 4096 + j if self.augment else -1) for j, i in enumerate(idx)]

    def __iter__(self):
        for step in range(self.start, self.stop):
            yield self.batch(step)


def _worker_init(_):
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


@torch.inference_mode()
def predict_texts(model: CRNN, loader, charset: Charset, device: torch.device) -> tuple[list[str], list[str]]:
    """Greedy readings and ground truths for every readable sample of a loader."""
    model.eval()
    preds, truths = [], []
    for batch in loader:
        if batch is None:
            continue
        images, targets, lengths = batch
        x = images.to(device)
        if device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", enabled=device.type == "cuda"):
            best = model(x).argmax(2).t().cpu().numpy()  # (B, T)
        for path in best:
            keep = [int(k) for i, k in enumerate(path) if k != BLANK and (i == 0 or k != path[i - 1])]
            preds.append(charset.indices_to_text(keep))
        for t in torch.split(targets, lengths.tolist()):
            truths.append(charset.indices_to_text(t.tolist()))
    return preds, truths


def _save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # never leave a half-written checkpoint behind


def _open_log(path: Path, step: int):
    """The metrics log, opened for appending after dropping lines past ``step``: a run stopped between
    checkpoints logged steps that its resumed run will log again."""
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.strip() and json.loads(line)["step"] <= step]
        if len(kept) < len(lines):
            path.write_text("".join(kept), encoding="utf-8")
    return open(path, "a", encoding="utf-8")


def train(
    run_dir: str | Path,
    train_samples: list[Sample],
    val_samples: list[Sample],
    model_cfg: RecognizerConfig,
    charset: Charset,
    cfg: TrainConfig,
    *,
    init_checkpoint: dict | None = None,
    resume: bool = False,
    device: str = "auto",
    workers: int = 2,
    max_minutes: float | None = None,
    checkpoint_minutes: float = 5.0,
    progress: bool = True,
    should_stop=None,
) -> dict:
    """Train (or resume) a run; returns its summary. Raises DataError on unusable labels.

    ``should_stop()``, when given, is asked after every step (the tools answer "Ctrl-C was pressed"):
    the run then stops at that step boundary and saves, so it resumes exactly.
    """
    if not train_samples:
        raise DataError("no training samples (is the validation split taking them all?)")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    use_amp = dev.type == "cuda"

    torch.manual_seed(cfg.seed)  # the initial weights follow the run's seed too
    model = CRNN(model_cfg, charset.num_classes)
    if init_checkpoint is not None:
        model.load_state_dict(build_model(init_checkpoint)[0].state_dict())
    model.to(dev)
    if dev.type == "cpu":
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    step, best_acc, samples_seen, seconds = 0, -1.0, 0, 0.0

    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    if resume:
        state = torch.load(last_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"]["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        step, best_acc = state["step"], state["best_acc"]
        samples_seen, seconds = state["samples_seen"], state["seconds"]

    train_labels = check_labels(train_samples, charset, model_cfg.time_steps)
    val_labels = check_labels(val_samples, charset, model_cfg.time_steps)
    train_set = CropDataset(train_samples, train_labels, model_cfg)
    loader_args = dict(collate_fn=collate, num_workers=workers, worker_init_fn=_worker_init,
                       pin_memory=use_amp, persistent_workers=False)
    sampler = StepBatches(len(train_set), cfg.batch_size, cfg.seed, step, cfg.steps, cfg.augment)
    loader = torch.utils.data.DataLoader(train_set, batch_sampler=sampler, **loader_args)
    val_loader = None
    if val_samples:
        val_set = CropDataset(val_samples, val_labels, model_cfg)
        val_loader = torch.utils.data.DataLoader(val_set, batch_size=256, **loader_args)

    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    log_file = _open_log(run_dir / "metrics.jsonl", step)

    def summary() -> dict:
        return {"steps": step, "samples_seen": samples_seen, "train_minutes": round(seconds / 60, 2),
                "best_val_seq_acc": best_acc, "train_size": len(train_samples), "val_size": len(val_samples),
                "train_config": asdict(cfg), "device": dev.type}

    def save_last():
        _save({"model": make_checkpoint(model, model_cfg, charset), "optimizer": optimizer.state_dict(),
               "scaler": scaler.state_dict(), "step": step, "best_acc": best_acc,
               "samples_seen": samples_seen, "seconds": seconds, "train_config": asdict(cfg)}, last_path)

    def validate() -> dict:
        nonlocal best_acc
        if val_loader is None:
            _save(make_checkpoint(model, model_cfg, charset, summary()), best_path)
            return {}
        preds, truths = predict_texts(model, val_loader, charset, dev)
        m = text_metrics(preds, truths)
        if m["seq_acc"] > best_acc:
            best_acc = m["seq_acc"]
            _save(make_checkpoint(model, model_cfg, charset, summary()), best_path)
        model.train()
        return {"val_seq_acc": m["seq_acc"], "val_char_acc": m["char_acc"]}

    def log(record: dict):
        log_file.write(json.dumps({"step": step, "samples_seen": samples_seen, **record}) + "\n")
        log_file.flush()

    start_time = time.time()
    session_start, last_ckpt = start_time, start_time
    window_loss, window_n, window_samples, window_start = 0.0, 0, 0, start_time
    val_info: dict = {}
    stopped_early = False
    model.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="train", unit="step", disable=not progress, dynamic_ncols=True)
    try:
        for batch in loader:
            if batch is not None:
                images, targets, lengths = batch
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, cfg)
                x = images.to(dev, non_blocking=True)
                if dev.type == "cpu":
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast("cuda", enabled=use_amp):
                    logits = model(x)
                log_probs = logits.float().log_softmax(2)  # loss stays fp32 under mixed precision
                input_lengths = torch.full((x.shape[0],), log_probs.shape[0], dtype=torch.long)
                loss = ctc(log_probs, targets, input_lengths, lengths)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                scaler.step(optimizer)
                scaler.update()
                window_loss += loss.item()
                window_n += 1
                samples_seen += x.shape[0]
                window_samples += x.shape[0]
            step += 1
            bar.update(1)
            now = time.time()
            seconds += now - start_time
            start_time = now
            if step % cfg.log_every == 0 and window_n:
                rate = window_samples / max(now - window_start, 1e-9)
                record = {"loss": window_loss / window_n, "lr": lr_at(step - 1, cfg), "samples_per_s": rate}
                log(record)
                bar.set_postfix(loss=f"{record['loss']:.3f}", **{k: f"{v:.3f}" for k, v in val_info.items()})
                window_loss, window_n, window_samples, window_start = 0.0, 0, 0, now
            if step % cfg.val_every == 0 or step == cfg.steps:
                val_info = validate()
                if val_info:
                    log(val_info)
                bar.set_postfix(**{k: f"{v:.3f}" for k, v in val_info.items()})
            if now - last_ckpt >= checkpoint_minutes * 60 or step == cfg.steps:
                save_last()
                last_ckpt = now
            out_of_time = max_minutes is not None and now - session_start >= max_minutes * 60
            if (out_of_time or (should_stop is not None and should_stop())) and step < cfg.steps:
                stopped_early = True  # at a step boundary, so the saved state resumes exactly
                break
    finally:
        # Whatever stops the loop (time limit, Ctrl-C, an error), the last step is kept for --resume.
        save_last()
        bar.close()
        log_file.close()
    result = summary()
    result["finished"] = not stopped_early and step >= cfg.steps
    return result
