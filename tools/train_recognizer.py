"""Train the CRNN recognizer on a folder of labelled crops (e.g. captchas named by their text).

Examples:
    # generated captchas, 10 % held out for validation, CPU-fast model
    python tools/train_recognizer.py --train data/captcha-train --val-split 0.1 --charset 0123456789abcdefghijklmnopqrstuvwxyz --steps 8000 --out runs/captcha
    # continue that run exactly where it stopped
    python tools/train_recognizer.py --resume --out runs/captcha --minutes 60
    # fine-tune a shipped model on your own captchas; 5-fold cross-validation first
    python tools/train_recognizer.py --train my-captchas --init captcha --folds 5 --steps 3000 --out runs/cv

The run folder holds best.pt (the best model by validation sequence accuracy: copy it where you
like, or pass it to ocr-run --model), last.pt (for --resume) and metrics.jsonl (plot it with
tools/plot_metrics.py).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps 2 threads fast beside other work

import argparse
import hashlib
import json
import signal
import statistics
import sys
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # use this checkout's packages

import numpy as np
import torch

from recognizer.charset import Charset
from recognizer.checkpoint import read_checkpoint, resolve_weights
from recognizer.config import RecognizerConfig
from recognizer.dataset import DataError, read_folder
from recognizer.training import TrainConfig, train


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--train", help="training folder (labels.tsv, or images named by their text)")
    d.add_argument("--val", help="validation folder")
    d.add_argument("--val-split", type=float, default=None,
                   help="hold out this fraction of --train for validation (default 0.1 without --val; 0 = none)")
    d.add_argument("--folds", type=int, default=0, help="k-fold cross-validation over --train; report mean and spread")
    d.add_argument("--label-sep", default="_", help="file-name label separator: 'ab12_7.png' reads 'ab12' (default _; '' = off)")
    d.add_argument("--charset", help="characters the model reads (default: those of the training labels, or --init's)")
    m = p.add_argument_group("model")
    m.add_argument("--init", help="start from these weights (a shipped model name or a .pt file): fine-tuning")
    m.add_argument("--size", choices=["fast", "full"], default="fast", help="fast ~1 M params, full ~8.7 M (default fast)")
    m.add_argument("--rnn", choices=["lstm", "gru"], default="lstm")
    m.add_argument("--rgb", action="store_true", help="read RGB instead of grayscale")
    m.add_argument("--resize", choices=["stretch", "pad"],
                   help="stretch crops to the input size, or keep the aspect ratio and pad (default stretch, or "
                        "--init's); preprocessing only, so it may change when fine-tuning")
    m.add_argument("--width", type=int, default=128)
    m.add_argument("--height", type=int, default=64)
    t = p.add_argument_group("training")
    t.add_argument("--out", default="runs/recognizer", help="run folder (default runs/recognizer)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    t.add_argument("--steps", type=int, help="optimizer steps; the schedule is defined over them (default 10000)")
    t.add_argument("--epochs", type=float, help="or: passes over the training set, turned into steps")
    t.add_argument("--minutes", type=float, help="stop (resumably) after this many minutes")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--warmup", type=int, default=200, help="warm-up steps")
    t.add_argument("--anneal", type=float, default=0.3,
                   help="fraction of the steps, at the end, over which the learning rate decays (default 0.3)")
    t.add_argument("--val-every", type=int, default=500, help="steps between validations")
    t.add_argument("--no-augment", action="store_true")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="cuda trains in mixed precision")
    t.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    t.add_argument("--workers", type=int, default=2, help="data-loading processes (default 2; 0 = in the main process)")
    t.add_argument("--checkpoint-minutes", type=float, default=5.0)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    return p, p.parse_args(argv)


def split(samples, fraction: float, seed: int):
    order = np.random.default_rng(seed).permutation(len(samples))
    n_val = int(round(len(samples) * fraction))
    return [samples[i] for i in order[n_val:]], [samples[i] for i in order[:n_val]]


def folds(samples, k: int, seed: int):
    order = np.random.default_rng(seed).permutation(len(samples))
    for f in range(k):
        held = set(order[f::k].tolist())
        yield ([s for i, s in enumerate(samples) if i not in held], [s for i, s in enumerate(samples) if i in held])


def main(argv=None) -> int:
    p, a = parse_args(argv)
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    try:
        if a.resume:
            if not (out / "run.json").is_file():
                p.error(f"--resume: {out} holds no run (run.json missing)")
            run = json.loads((out / "run.json").read_text())
            if a.train or a.steps or a.epochs:
                print("warning: --train, --steps and --epochs are ignored with --resume: the run keeps its own",
                      file=sys.stderr)
        else:
            if not a.train:
                p.error("--train is required (or --resume)")
            if a.steps and a.epochs:
                p.error("give --steps or --epochs, not both")
            run = {k: getattr(a, k) for k in ("train", "val", "val_split", "label_sep", "charset", "init", "folds", "seed")}
            run["resize"] = a.resize
            run["model"] = RecognizerConfig.from_size(a.size, rnn=a.rnn, channels=3 if a.rgb else 1, resize=a.resize or "stretch",
                                                      width=a.width, height=a.height).to_dict()
        # Ctrl-C asks the run to stop at the next step boundary, where its state resumes exactly.
        stop = threading.Event()
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            return run_training(a, run, out, stop.is_set)
        finally:
            signal.signal(signal.SIGINT, previous)
    except (DataError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def fingerprint(samples) -> dict:
    """Count and hash of a training folder's (file, label) list: --resume refuses changed data."""
    digest = hashlib.sha1("\n".join(f"{s.path}\t{s.text}" for s in samples).encode()).hexdigest()
    return {"count": len(samples), "sha1": digest}


def run_training(a, run: dict, out: Path, should_stop) -> int:
    train_samples = read_folder(run["train"], run["label_sep"] or None)
    data = fingerprint(train_samples)
    if a.resume and run.get("data", data) != data:
        raise DataError(f"{run['train']}: the training data changed since the run started ({run['data']['count']} "
                        f"samples then, {data['count']} now); resuming would reshuffle the validation split. "
                        "Start a new run instead")
    init = read_checkpoint(resolve_weights(run["init"])) if run["init"] else None
    if init and not a.resume:
        ignored = [flag for flag, value, default in [("--size", a.size, "fast"), ("--rnn", a.rnn, "lstm"),
                                                     ("--rgb", a.rgb, False), ("--width", a.width, 128),
                                                     ("--height", a.height, 64), ("--charset", a.charset, None)]
                   if value != default]
        if ignored:
            print(f"warning: {', '.join(ignored)} ignored: --init {run['init']} fixes the network and charset",
                  file=sys.stderr)
    model_cfg = RecognizerConfig.from_dict(init["config"] if init else run["model"])
    if init and run.get("resize"):
        model_cfg = replace(model_cfg, resize=run["resize"])
    if init:
        charset = Charset(init["charset"])
    elif run["charset"]:
        charset = Charset(run["charset"])
    else:
        charset = Charset.from_texts(s.text for s in train_samples)

    if run["folds"]:
        if not 2 <= run["folds"] <= len(train_samples):
            raise DataError(f"--folds must be from 2 to the number of samples ({len(train_samples)})")
        splits = [(out / f"fold-{i + 1}", tr, va) for i, (tr, va) in enumerate(folds(train_samples, run["folds"], run["seed"]))]
    else:
        if run["val"]:
            val_samples = read_folder(run["val"], run["label_sep"] or None)
        else:
            fraction = 0.1 if run["val_split"] is None else run["val_split"]
            train_samples, val_samples = split(train_samples, fraction, run["seed"])
        splits = [(out, train_samples, val_samples)]

    if a.resume:
        tcfg = TrainConfig.from_dict(run["train_config"])
    else:
        per_epoch = max(1, len(splits[0][1]) // a.batch_size)
        steps = int(round(a.epochs * per_epoch)) if a.epochs else (a.steps or 10000)
        tcfg = TrainConfig(steps=steps, batch_size=a.batch_size, lr=a.lr, warmup_steps=min(a.warmup, steps // 4), anneal_fraction=a.anneal,
                           augment=not a.no_augment, seed=a.seed, val_every=a.val_every)
        out.mkdir(parents=True, exist_ok=True)
        run.update(charset=charset.chars, train_config=asdict(tcfg), data=data)
        (out / "run.json").write_text(json.dumps(run, indent=1))
    print(f"model: {model_cfg}\ncharset ({len(charset)}): {charset.chars}", file=sys.stderr)

    results = []
    deadline = time.time() + a.minutes * 60 if a.minutes is not None else None  # for all folds together
    for run_dir, tr, va in splits:
        # Under --resume, a fold that never started starts now.
        resume = a.resume and (run_dir / "last.pt").is_file()
        print(f"{run_dir}: {len(tr)} training, {len(va)} validation samples; {tcfg.steps} steps", file=sys.stderr)
        res = train(run_dir, tr, va, model_cfg, charset, tcfg, init_checkpoint=init, resume=resume,
                    device=a.device, workers=a.workers,
                    max_minutes=None if deadline is None else max(0.0, (deadline - time.time()) / 60),
                    checkpoint_minutes=a.checkpoint_minutes, progress=not a.quiet, should_stop=should_stop)
        print(json.dumps({"run": str(run_dir), **{k: v for k, v in res.items() if k != "train_config"}}))
        results.append(res)
        if not res["finished"]:
            print(f"stopped at step {res['steps']}: resume with --resume --out {out}", file=sys.stderr)
            return 0
    if run["folds"]:
        accs = [r["best_val_seq_acc"] for r in results]
        spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(f"{len(accs)}-fold cross-validation: sequence accuracy mean {statistics.mean(accs):.4f}, "
              f"std {spread:.4f}, min {min(accs):.4f}, max {max(accs):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
