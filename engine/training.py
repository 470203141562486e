"""The one training loop of both stages: steps, mixed precision, clipping, stops, checkpoints, resume.

A run folder holds ``last.pt`` (everything needed to resume), ``best.pt`` (the best model by the stage's
validation score, a self-describing checkpoint) and ``metrics.jsonl``. Step s trains on the items that
(seed, s) alone picks, so a resumed run continues exactly where it stopped, whatever the worker count.
A stage passes in only what differs: its dataset, its loss, its validation and its checkpoint.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .checkpoint import save_atomic
from .inference import resolve_device


@dataclass(frozen=True)
class TrainConfig:
    """What every run has; a stage subclasses it with its own fields and defaults."""

    steps: int = 10000  # schedule length in optimizer steps
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 200
    seed: int = 0
    val_every: int = 500  # steps between validations
    log_every: int = 50  # steps between metric log lines

    @classmethod
    def from_dict(cls, d: dict):
        """Keys this class knows (a run.json may carry others from older versions)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


class StepBatches:
    """Batch sampler: step s draws batch s of a per-epoch permutation seeded by (seed, epoch).

    Each item is ``(index, augmentation seed)``, the seed being -1 when augmentation is off. With fewer
    items than a batch, items repeat (each with its own seed) so every batch has ``batch_size`` items.
    """

    def __init__(self, n: int, batch_size: int, seed: int, start: int, stop: int, augment: bool = True):
        if n < 1 or batch_size < 1:
            raise ValueError(f"need at least one item and a batch size >= 1 (got {n} items, batch {batch_size})")
        self.n, self.bs, self.seed, self.start, self.stop, self.augment = n, batch_size, seed, start, stop, augment

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def batch(self, step: int) -> list[tuple[int, int]]:
        per_epoch = max(1, self.n // self.bs)
        epoch, k = divmod(step, per_epoch)
        perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        idx = np.resize(perm, (per_epoch + 1) * self.bs)[k * self.bs : (k + 1) * self.bs]
        return [(int(i), (self.seed * 1_000_003 + step) * 4096 + j if self.augment else -1) for j, i in enumerate(idx)]

    def __iter__(self):
        for step in range(self.start, self.stop):
            yield self.batch(step)


def warmup(step: int, cfg: TrainConfig) -> float | None:
    """The linear warm-up's learning rate at ``step``, or None once it is over."""
    return cfg.lr * (step + 1) / cfg.warmup_steps if step < cfg.warmup_steps else None


def fingerprint(lines: Iterable[str]) -> dict:
    """Count and hash of a run's training items: --resume refuses data that changed under it."""
    lines = list(lines)
    return {"count": len(lines), "sha1": hashlib.sha1("\n".join(lines).encode()).hexdigest()}


def _worker_init(_):
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def open_log(path: Path, step: int):
    """The metrics log, opened for appending after dropping lines past ``step``: a run stopped between
    checkpoints logged steps that its resumed run will log again."""
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.strip() and json.loads(line)["step"] <= step]
        if len(kept) < len(lines):
            path.write_text("".join(kept), encoding="utf-8")
    return open(path, "a", encoding="utf-8")


def cpu_has_bf16_tiles() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (Intel AMX, Sapphire Rapids and later)."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe and probe())


def mixed_precision(device: torch.device, enabled: bool = True):
    """The autocast context of a training step: fp16 on CUDA; bf16 on a CPU with AMX tiles, where it trained the
    `words` CRNN 2.2x faster on 2 cores (the matrix products in bf16, weights and losses in fp32); else fp32."""
    if device.type == "cuda":
        return torch.autocast("cuda", enabled=enabled)
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled and cpu_has_bf16_tiles())


def forward(model: nn.Module, images: torch.Tensor, device: torch.device):
    """The network on a batch of images moved to ``device`` (NHWC on CPU). Under ``mixed_precision`` its outputs
    may be fp16 or bf16: losses take ``.float()`` of them."""
    x = images.to(device, non_blocking=True)
    if device.type == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)
    return model(x)


# (model, batch, device) -> (loss, named loss parts to log, samples in the batch); see ``forward``
LossFn = Callable[[nn.Module, tuple, torch.device], "tuple[torch.Tensor, dict, int]"]


def fit(run_dir: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer, dataset, collate, cfg: TrainConfig, *,
        lr_at: Callable[[int, int], float], loss_fn: LossFn, validate: Callable[[nn.Module], dict] | None,
        model_checkpoint: Callable[[nn.Module, dict], dict], score_key: str, augment: bool = True,
        patience: int = 0, patience_from: float = 0.0, early_end: Callable[[int], int] | None = None,
        resume: bool = False, device: str = "auto", workers: int = 2, max_minutes: float | None = None,
        paced_decay: int | None = None, checkpoint_minutes: float = 5.0, progress: bool = True,
        should_stop: Callable[[], bool] | None = None, summary: dict | None = None, fp32: bool = False) -> dict:
    """Train (or resume) ``model`` in ``run_dir``; returns the run's summary.

    ``dataset[(index, seed)]`` gives an item or None (unreadable: skipped), ``collate`` a batch or None.
    ``validate(model)`` returns metrics holding ``score_key`` (higher is better; ``best.pt`` keeps the best),
    or is None: then ``best.pt`` is the last model. ``should_stop()`` is asked after every step (the
    commands answer "Ctrl-C was pressed"): the run stops at that step boundary and saves, so it resumes
    exactly. Whatever ends the loop (time limit, Ctrl-C, an error), ``last.pt`` keeps the last step.

    ``lr_at(step, end)`` is the rate at ``step`` of a run that ends at ``end`` (``cfg.steps``, unless validation
    stopped improving): after ``patience`` validations without a better score, counted once the score has passed
    ``patience_from``, the run ends at ``early_end(step)`` instead, so its final decay still runs whole.

    Each step runs in ``mixed_precision`` unless ``fp32``.

    ``paced_decay`` (the length of that final decay, in steps), with ``max_minutes``: a schedule fitted to the
    time from a speed measured beforehand, which misjudges a run's pace (its loader works beside the network;
    the machine may be busier or idler). At every validation before the decay starts, the end moves to where
    the time left runs out at the run's own pace so far (validations included), at most twice ``cfg.steps``.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device)
    use_amp = dev.type == "cuda"
    mixed = not fp32 and (use_amp or cpu_has_bf16_tiles())
    precision = ("fp16" if use_amp else "bf16") if mixed else "fp32"
    model.to(dev)
    if dev.type == "cpu":
        model.to(memory_format=torch.channels_last)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    step, best, samples_seen, seconds, end, stale = 0, -1.0, 0, 0.0, cfg.steps, 0
    last_path, best_path = run_dir / "last.pt", run_dir / "best.pt"
    if resume:
        state = torch.load(last_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"]["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        step, samples_seen, seconds = state["step"], state["samples_seen"], state["seconds"]
        best = state.get("best", state.get("best_acc", -1.0))  # recognizer states before 0.2 said best_acc
        end, stale = state.get("end") or cfg.steps, state.get("stale", 0)  # the end moved by pace or came early
        if state.get("train_config", {}).get("steps", cfg.steps) != cfg.steps:
            end = cfg.steps  # rescheduled: the new length wins
    session_step = step

    sampler = StepBatches(len(dataset), cfg.batch_size, cfg.seed, step, 2 * cfg.steps, augment)  # ends at `end`
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, num_workers=workers,
                                         worker_init_fn=_worker_init, pin_memory=use_amp)
    log_file = open_log(run_dir / "metrics.jsonl", step)

    def run_summary() -> dict:
        return {"steps": step, "samples_seen": samples_seen, "train_minutes": round(seconds / 60, 2),
                f"best_val_{score_key}": best, **({"end": end} if end != cfg.steps else {}),
                **(summary or {}), "train_config": asdict(cfg), "device": dev.type, "precision": precision}

    def save_last():
        save_atomic({"model": model_checkpoint(model, run_summary()), "optimizer": optimizer.state_dict(),
                     "scaler": scaler.state_dict(), "step": step, "best": best, "samples_seen": samples_seen,
                     "seconds": seconds, "end": end if end != cfg.steps else None, "stale": stale, "train_config": asdict(cfg)}, last_path)

    def log(record: dict):
        log_file.write(json.dumps({"step": step, "samples_seen": samples_seen, **record}) + "\n")
        log_file.flush()

    start = session_start = last_ckpt = window_start = time.time()
    paced_at = (session_start, session_step)  # the last pacing check: time, step
    window: dict = {}
    window_n = window_samples = 0
    stopped_early = False
    model.train()
    bar = tqdm(total=end, initial=step, desc="train", unit="step", disable=not progress, dynamic_ncols=True)
    try:
        for batch in loader:
            if batch is not None:
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, end)
                with mixed_precision(dev, enabled=mixed):
                    loss, parts, n = loss_fn(model, batch, dev)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                scaler.step(optimizer)
                scaler.update()
                for k, v in {"loss": loss.item(), **parts}.items():
                    window[k] = window.get(k, 0.0) + v
                window_n += 1
                samples_seen += n
                window_samples += n
            step += 1
            bar.update(1)
            now = time.time()
            seconds += now - start
            start = now
            if step % cfg.log_every == 0 and window_n:
                record = {k: v / window_n for k, v in window.items()}
                record.update(lr=lr_at(step - 1, end), samples_per_s=window_samples / max(now - window_start, 1e-9))
                log(record)
                bar.set_postfix(loss=f"{record['loss']:.3f}")
                window, window_n, window_samples, window_start = {}, 0, 0, now
            if step % cfg.val_every == 0 or step == end:
                if validate is None:
                    save_atomic(model_checkpoint(model, run_summary()), best_path)
                else:
                    metrics = validate(model)
                    model.train()
                    log({"val_" + k: v for k, v in metrics.items()})
                    stale = 0 if metrics[score_key] > best else stale + (best > patience_from)
                    if metrics[score_key] > best:
                        best = metrics[score_key]
                        save_atomic(model_checkpoint(model, run_summary()), best_path)
                    if patience and stale >= patience and early_end is not None and early_end(step) < end:
                        end = early_end(step)  # validation stopped improving: decay now, then stop
                        log({"early_end": end})
                        paced_decay = None
                    bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items() if isinstance(v, float) and "/" not in k})
                if paced_decay is not None and max_minutes is not None and step < end - paced_decay:
                    # seconds per step, validations included: the slower of the whole session's and the last
                    # stretch's, and 5 % to spare, since a slowdown in the decay would cut it short
                    t = time.time()
                    pace = max((t - session_start) / (step - session_step), (t - paced_at[0]) / (step - paced_at[1]))
                    paced_at = (t, step)
                    left = max_minutes * 60 - (t - session_start)
                    paced_end = min(2 * cfg.steps, max(step + paced_decay, step + int(0.95 * left / pace)))
                    if paced_end != end:
                        end = paced_end
                        log({"paced_end": end})
                        bar.total = end
                start = time.time()  # validation is not training time
            if now - last_ckpt >= checkpoint_minutes * 60 or step == end:
                save_last()
                last_ckpt = now
            if step >= end:
                break
            out_of_time = max_minutes is not None and now - session_start >= max_minutes * 60
            if out_of_time or (should_stop is not None and should_stop()):
                stopped_early = True  # at a step boundary, so the saved state resumes exactly
                break
    finally:
        save_last()
        if validate is None and not best_path.is_file():
            save_atomic(model_checkpoint(model, run_summary()), best_path)
        bar.close()
        log_file.close()
    result = run_summary()
    result["finished"] = not stopped_early and step >= end
    return result
