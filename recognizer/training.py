"""Training the CRNN: CTC loss, its schedule and its validation, on the engine's loop."""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from engine.images import load_image
from engine.inference import resolve_device
from engine.training import TrainConfig as BaseTrainConfig
from engine.training import fit, forward, mixed_precision, warmup

from .charset import BLANK, Charset
from .checkpoint import build_model, make_checkpoint
from .config import RecognizerConfig, RecognizerSettings
from .dataset import CropDataset, DataError, Sample, collate, fit_labels
from .metrics import fold_text, text_metrics
from .model import CRNN
from .predict import Recognizer


SELECT = ("exact", "folded")


@dataclass(frozen=True)
class TrainConfig(BaseTrainConfig):
    anneal_fraction: float = 0.3  # the learning rate is flat, then cosine-decays over this last part
    augment: bool = True
    clutter: bool = False  # augmentation also draws lines and speckles (captchas)
    select: str = "exact"  # best.pt by the mean over validation sets of exact, or folded, sequence accuracy
    patience: int = 0  # validations without improvement (once past PLATEAU) before the decay starts; 0 = never
    paced: bool = False  # the end follows the run's own pace to fit its time limit (a schedule fitted to minutes)


# Validation sequence accuracy above which CTC has clearly left its plateau: only then may a run end early.
PLATEAU = 0.1


def anneal_steps(cfg: TrainConfig) -> int:
    return round(cfg.steps * cfg.anneal_fraction)


def early_end(step: int, cfg: TrainConfig) -> int:
    """Where a run whose validation stopped improving at ``step`` now ends: after its decay, which starts no
    sooner than 40 % into the schedule (a few hundred images give noisy checks; an early stall is often not
    the last word)."""
    return max(step, round(0.4 * cfg.steps)) + anneal_steps(cfg)


def lr_at(step: int, cfg: TrainConfig, end: int | None = None) -> float:
    """Linear warm-up, a long flat stretch (CTC must leave its plateau first), then cosine decay over the last
    ``anneal_fraction`` of the steps, before ``end`` (``cfg.steps`` unless the run ended early)."""
    rate = warmup(step, cfg)
    if rate is not None:
        return rate
    anneal_start = (cfg.steps if end is None else end) - anneal_steps(cfg)
    if step < anneal_start:
        return cfg.lr
    progress = (step - anneal_start) / max(1, anneal_steps(cfg))
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def ctc_loss(model: nn.Module, batch, device: torch.device) -> tuple[torch.Tensor, dict, int]:
    images, targets, lengths = batch
    log_probs = forward(model, images, device).float().log_softmax(2)  # (T, B, K), fp32 under mixed precision
    input_lengths = torch.full((images.shape[0],), log_probs.shape[0], dtype=torch.long)
    loss = nn.functional.ctc_loss(log_probs, targets, input_lengths, lengths, blank=BLANK, zero_infinity=True)
    return loss, {}, images.shape[0]


@torch.no_grad()
def warm_start(model: CRNN, charset: Charset, ckpt: dict) -> None:
    """Start ``model`` from a checkpoint: every layer whose shape fits (the convolutions fit any width), and the
    output layer row by row for the characters both charsets share; the CTC blank is row 0 in both."""
    source, source_charset = build_model(ckpt)
    old, new = source.state_dict(), model.state_dict()
    for key, value in old.items():
        if not key.startswith("head.") and key in new and new[key].shape == value.shape:
            new[key].copy_(value)
    rows = [(0, 0)] + [(charset.chars.index(c) + 1, i + 1) for i, c in enumerate(source_charset.chars)
                       if c in charset.chars]
    for to, frm in rows:
        new["head.weight"][to] = old["head.weight"][frm]
        new["head.bias"][to] = old["head.bias"][frm]
    model.load_state_dict(new)


def measure_speed(samples: list[Sample], model_cfg: RecognizerConfig, charset: Charset, batch_size: int,
                  device: str = "auto", steps: int = 4, fp32: bool = False) -> float:
    """Training samples per second here: loading, augmenting, forward, backward and an update, one after the
    other (a run's loader works beside the network, so a run is somewhat faster than this).

    Measured in a fresh process: torch's thread pool, once used, makes data workers forked later hang.
    """
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_measure_speed, (samples, model_cfg, charset, batch_size, device, steps,
                                           torch.get_num_threads(), fp32))


def _measure_speed(samples, model_cfg, charset, batch_size, device, steps, threads, fp32) -> float:
    torch.set_num_threads(threads)
    samples, labels = usable(samples, charset, model_cfg.time_steps, "speed test")
    if not samples:
        raise DataError("no usable samples to measure the training speed on")
    data = CropDataset(samples, labels, model_cfg, clutter=True)
    device = resolve_device(device)
    model = CRNN(model_cfg, charset.num_classes).to(device)
    if device.type == "cpu":
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    items = [(i % len(data), i) for i in range(batch_size * (steps + 1))]
    elapsed = 0.0
    for k in range(steps + 1):
        start = time.perf_counter()
        batch = collate([data[item] for item in items[k * batch_size : (k + 1) * batch_size]])
        if batch is None:
            continue
        with mixed_precision(device, enabled=not fp32):
            loss = ctc_loss(model, batch, device)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        float(loss.detach())  # waits for the device
        if k:  # the first step warms caches and allocators
            elapsed += time.perf_counter() - start
    return steps * batch_size / max(elapsed, 1e-9)


def read_validation(samples: list[Sample]) -> tuple[list, list[str]]:
    """Validation crops, decoded once; an unreadable one is named and left out."""
    images, texts = [], []
    for s in samples:
        try:
            images.append(load_image(s.path))
            texts.append(s.text)
        except ValueError as e:
            print(f"warning: validation skips {e}", file=sys.stderr)
    return images, texts


def usable(samples: list[Sample], charset: Charset, time_steps: int, what: str) -> tuple[list[Sample], list]:
    """The samples whose labels fit, with their encoded labels; the others are counted on stderr, never a stop."""
    kept, labels, skipped = fit_labels(samples, charset, time_steps)
    if skipped:
        print(f"warning: {what}: {len(skipped)} of {len(samples)} labels skipped, e.g. {'; '.join(skipped[:3])}",
              file=sys.stderr)
    return kept, labels


def validation_metrics(readings: dict[str, list[str]], truths: dict[str, list[str]]) -> dict:
    """Per validation set, exact and folded sequence accuracy and character accuracy; then their means
    (``seq_acc``, ``folded_seq_acc``, ``char_acc``), each set counting once whatever its size."""
    out: dict = {}
    for name in truths:
        exact = text_metrics(readings[name], truths[name])
        folded = text_metrics([fold_text(t) for t in readings[name]], [fold_text(t) for t in truths[name]])
        out.update({f"{name}/seq_acc": exact["seq_acc"], f"{name}/folded_seq_acc": folded["seq_acc"],
                    f"{name}/char_acc": exact["char_acc"]})
    for key in ("seq_acc", "folded_seq_acc", "char_acc"):
        out[key] = sum(out[f"{name}/{key}"] for name in truths) / len(truths)
    return out


def train(run_dir: str | Path, train_samples: list[Sample], val_samples: list[Sample] | dict[str, list[Sample]],
          model_cfg: RecognizerConfig, charset: Charset, cfg: TrainConfig, *, init_checkpoint: dict | None = None,
          resume: bool = False, device: str = "auto", workers: int = 2, max_minutes: float | None = None,
          checkpoint_minutes: float = 5.0, progress: bool = True, should_stop=None, fp32: bool = False) -> dict:
    """Train (or resume) a recognizer run; returns its summary (``best_val_seq_acc``, or ``best_val_folded_seq_acc``).

    ``val_samples``: one validation set, or several by name (each reported apart; best.pt by their mean).
    Labels that do not fit the charset or the time steps are skipped and counted.
    """
    if cfg.select not in SELECT:
        raise ValueError(f"select must be one of {SELECT}, got {cfg.select!r}")
    val_sets = val_samples if isinstance(val_samples, dict) else ({"val": val_samples} if val_samples else {})
    train_samples, train_labels = usable(train_samples, charset, model_cfg.time_steps, "training data")
    if not train_samples:
        raise DataError("no usable training samples (is the validation split taking them all?)")
    val_sets = {name: usable(samples, charset, model_cfg.time_steps, f"validation set {name}")[0]
                for name, samples in val_sets.items()}
    val_sets = {name: samples for name, samples in val_sets.items() if samples}
    torch.manual_seed(cfg.seed)  # the initial weights follow the run's seed too
    model = CRNN(model_cfg, charset.num_classes)
    if init_checkpoint is not None:
        warm_start(model, charset, init_checkpoint)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    validate = None
    if val_sets:
        val_data = {name: read_validation(samples) for name, samples in val_sets.items()}

        def validate(m: CRNN) -> dict:
            rec = Recognizer(m, charset, RecognizerSettings(batch_size=256), device)
            readings = {name: [r.text for r in rec(images)] for name, (images, _) in val_data.items()}
            return validation_metrics(readings, {name: texts for name, (_, texts) in val_data.items()})

    score_key = "folded_seq_acc" if cfg.select == "folded" else "seq_acc"
    return fit(run_dir, model, optimizer, CropDataset(train_samples, train_labels, model_cfg, cfg.clutter), collate,
               cfg, lr_at=lambda step, end: lr_at(step, cfg, end), loss_fn=ctc_loss, validate=validate,
               patience=cfg.patience, patience_from=PLATEAU, early_end=lambda step: early_end(step, cfg),
               model_checkpoint=lambda m, summary: make_checkpoint(m, charset, summary), score_key=score_key,
               augment=cfg.augment, resume=resume, device=device, workers=workers, max_minutes=max_minutes,
               paced_decay=anneal_steps(cfg) if cfg.paced and not resume else None,
               checkpoint_minutes=checkpoint_minutes, progress=progress, should_stop=should_stop,
               summary={"train_size": len(train_samples), "val_size": sum(map(len, val_sets.values()))}, fp32=fp32)
