"""Train the DBNet text detector on labelled scene images (labels.jsonl folders or ICDAR 2015 ground truth).

    # ICDAR 2015 training images, img_901 ... img_1000 held out for validation (tools/splits/icdar2015_val.txt)
    python tools/train_detector.py --train ../shared/data/icdar2015-train --out runs/detector --steps 20000 --minutes 60
    # continue exactly where it stopped (add --steps N to end the schedule at step N instead)
    python tools/train_detector.py --resume --out runs/detector --minutes 60

The run folder holds best.pt (best validation H-mean), last.pt (for --resume) and metrics.jsonl.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps 2 threads fast beside other work

import argparse
import hashlib
import json
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # use this checkout's packages

import torch

from detector.data import AnnotationError, read_annotations, split_by_names
from detector.model import SIZES, DetectorConfig
from detector.training import TrainConfig, train

SPLITS = Path(__file__).parent / "splits"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", nargs="+",
                   help="training folders (labels.jsonl, or ICDAR gt_*.txt files); name a folder twice to weigh it double")
    p.add_argument("--holdout", default=str(SPLITS / "icdar2015_val.txt"),
                   help="file of image names held out of --train for validation (default: the ICDAR 2015 split)")
    p.add_argument("--out", default="runs/detector")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--size", choices=list(SIZES), default="half", help="backbone width (default half: 2.9 M params)")
    p.add_argument("--steps", type=int, default=None,
                   help="length of the schedule (default 20000); with --resume, a new length: the learning rate "
                        "then decays to zero at this step instead")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--crop-size", type=int, default=640)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--val-every", type=int, default=1000)
    p.add_argument("--val-max-side", type=int, default=1280, help="inference size limit for validation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--minutes", type=float, help="stop (resumably) after this many minutes")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device
    out = Path(a.out)
    try:
        if a.resume:
            if not (out / "run.json").is_file():
                p.error(f"--resume: {out} holds no run (run.json missing)")
            run = json.loads((out / "run.json").read_text())
            if a.train:
                print("warning: --train is ignored with --resume: the run keeps its own data", file=sys.stderr)
            if a.steps is not None and a.steps != run["train_config"]["steps"]:
                print(f"rescheduled: {run['train_config']['steps']} -> {a.steps} steps", file=sys.stderr)
                run["train_config"]["steps"] = a.steps
        else:
            if not a.train:
                p.error("--train is required (or --resume)")
            run = {"train": a.train, "holdout": a.holdout, "model": DetectorConfig(**SIZES[a.size]).to_dict(),
                   "train_config": asdict(TrainConfig(steps=a.steps or 20000, batch_size=a.batch_size, crop_size=a.crop_size,
                                                      lr=a.lr, seed=a.seed, val_every=a.val_every))}
        holdout = Path(run["holdout"]) if run["holdout"] else None
        if holdout is not None and not holdout.is_file():
            holdout = SPLITS / holdout.name  # the run was started from another checkout
        held = set(holdout.read_text().split()) if holdout is not None else set()
        train_set, val_set = [], []
        for folder in run["train"]:
            tr, va = split_by_names(read_annotations(Path(folder)), held)
            train_set += tr
            val_set += [v for v in va if v.image not in {w.image for w in val_set}]
        names = "\n".join(str(t.image) for t in train_set)
        data = {"count": len(train_set), "sha1": hashlib.sha1(names.encode()).hexdigest()}
        if a.resume and run.get("data", data) != data:
            raise ValueError(f"the training images changed since the run started ({run['data']['count']} then, "
                             f"{data['count']} now): resuming would not continue the same run; start a new one")
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.json").write_text(json.dumps({**run, "data": data}, indent=1))
        print(f"{len(train_set)} training images, {len(val_set)} validation images", file=sys.stderr)
        stop = threading.Event()  # Ctrl-C stops at the next step boundary, where the state resumes exactly
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            result = train(out, train_set, val_set, DetectorConfig.from_dict(run["model"]),
                           TrainConfig.from_dict(run["train_config"]), resume=a.resume, device=device,
                           workers=a.workers, max_minutes=a.minutes, checkpoint_minutes=a.checkpoint_minutes,
                           val_max_side=a.val_max_side, progress=not a.quiet, should_stop=stop.is_set)
        finally:
            signal.signal(signal.SIGINT, previous)
    except (AnnotationError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: v for k, v in result.items() if k != "train_config"}))
    if not result["finished"]:
        print(f"stopped at step {result['steps']}: resume with --resume --out {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
