"""ocr-train: train the recognizer on a folder of labelled crops, or the detector on labelled photos.

    ocr-train my-captchas/ --out runs/mine                         # crops named by their text, or labels.tsv:
                                                                   # looks at the data, chooses, trains 30 min
    ocr-train my-captchas/ --folds 5 --out runs/cv                 # 5-fold cross-validation, the same choices
    ocr-train photos/ --holdout val-names.txt --out runs/det       # labels.jsonl or ICDAR gt_*.txt: the detector
    ocr-train --resume --out runs/mine --minutes 60                # continue exactly where a run stopped

What is trained follows the data: a folder of labelled photos (labels.jsonl, or ICDAR 2015 gt_<image>.txt
files) trains the detector, anything else the recognizer (--kind forces one).

A new recognizer run first looks at its crops (sizes, blank margins, label lengths, characters, case) and
chooses the input width, stretch or pad, margin trimming, the charset, the shipped model to fine-tune (captcha
readers for letters and digits, `words` otherwise), the validation split, the learning rate and the
augmentation; it then measures its speed here and turns --minutes (default 30) into a step count, so the final
learning-rate decay always runs, and moves the end to the run's own pace at each validation before the decay. When validation stops improving for --patience checks, the decay starts
(not before 40 % of the steps) and the run ends sooner. It prints why it chose each setting, and at the end
a report: accuracy, the most common confusions, minutes, and the ocr-run command for the model. Every choice
can be fixed by its flag.
The detector's defaults (steps, batch size, rate) are its own; flags override them.

The run folder holds best.pt (the best model by validation: pass it to ocr-run --model or --detector),
last.pt (for --resume), run.json (the run's settings and data fingerprint) and metrics.jsonl. A run stops
resumably at --minutes or on Ctrl-C. Exit codes: 0 done (or stopped resumably), 2 bad arguments or data.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps 2 threads fast beside other work

import argparse
import json
import signal
import statistics
import sys
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path

from .io import data_kind

KINDS = ("recognizer", "detector")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="ocr-train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="*", help="training folder(s); name a folder twice to weigh it double")
    p.add_argument("--out", default="runs/train", help="run folder (default runs/train)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--new-data", action="store_true",
                   help="with --resume: go on although the training folders changed (regenerated, grown); "
                        "recognizer runs with --val folders only, so no validation sample moves into training")
    p.add_argument("--kind", choices=KINDS, help="what to train (default: from the data)")
    t = p.add_argument_group("schedule (defaults: the model's own)")
    t.add_argument("--steps", type=int, help="optimizer steps; with --resume, a new end for the schedule")
    t.add_argument("--minutes", type=float,
                   help="stop (resumably) after this many minutes; a new recognizer run without --steps also "
                        "fits its schedule into them (default 30 there)")
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--warmup", type=int, help="warm-up steps")
    t.add_argument("--val-every", type=int, help="steps between validations")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="mixed precision where it pays: fp16 on cuda, bf16 on CPUs with AMX (about 2x faster)")
    t.add_argument("--fp32", action="store_true", help="train in full fp32 precision instead of mixed precision")
    t.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    t.add_argument("--workers", type=int, default=2, help="data-loading processes (default 2; 0 = in this process)")
    t.add_argument("--checkpoint-minutes", type=float, default=5.0)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    r = p.add_argument_group("recognizer")
    r.add_argument("--val", nargs="+", help="validation folder(s): each is reported apart, best.pt goes by their mean")
    r.add_argument("--select", choices=["exact", "folded"],
                   help="best.pt by exact (default) or folded (case-insensitive, letters and digits) accuracy")
    r.add_argument("--val-split", type=float,
                   help="hold out this fraction of the data for validation (default 0.1 without --val; 0 = none)")
    r.add_argument("--folds", type=int, default=0, help="k-fold cross-validation; report mean and spread")
    r.add_argument("--label-sep", default="_", help="file-name label separator: 'ab12_7.png' reads 'ab12' ('' = off)")
    r.add_argument("--charset", help="characters the model reads, or a named set: latin (printable ASCII, accented "
                                     "Latin letters and signs), digits, alnum (0-9 A-Z a-z), lower (0-9 a-z), upper (0-9 A-Z) "
                                     "(default: those of the labels, or --init's)")
    r.add_argument("--init", help="start from these weights (a shipped model name or a .pt file), or 'none' for "
                                  "a fresh network; --width and --charset may differ from its own (default: "
                                  "chosen from the data; none when --size, --rnn, --rgb or --height is given). "
                                  "The detector starts fresh unless --init names one (db)")
    r.add_argument("--trim", action=argparse.BooleanOptionalAction,
                   help="cut blank margins off every crop, in training and reading (default: chosen from the data)")
    r.add_argument("--clutter", action=argparse.BooleanOptionalAction,
                   help="augment with crossing lines and speckles (default: for captcha-like labels)")
    r.add_argument("--patience", type=int,
                   help="validations without improvement before the final decay starts early (default 5 for a "
                        "schedule fitted to --minutes, else 0 = never)")
    r.add_argument("--size", help="network size: recognizer fast (~1 M params, default) or full (~8.7 M); "
                                  "detector half (2.9 M, default) or full")
    r.add_argument("--rnn", choices=["lstm", "gru"])
    r.add_argument("--rgb", action="store_true", help="read RGB instead of grayscale")
    r.add_argument("--resize", choices=["stretch", "pad"],
                   help="stretch crops to the input size, or keep the aspect ratio and pad (default stretch, or "
                        "--init's); preprocessing only, so it may change when fine-tuning")
    r.add_argument("--width", type=int, help="input width (default: from the crops' aspect ratio)")
    r.add_argument("--height", type=int, help="input height (default 64, or --init's)")
    r.add_argument("--epochs", type=float, help="instead of --steps: passes over the training set")
    r.add_argument("--anneal", type=float, help="fraction of the steps, at the end, over which the rate decays (0.3)")
    r.add_argument("--no-augment", action="store_true")
    d = p.add_argument_group("detector")
    d.add_argument("--holdout", nargs="+",
                   help="file(s) of image names held out of the data for validation (e.g. tools/splits/*_val.txt)")
    d.add_argument("--crop-size", type=int, help="training crop side in pixels (default 640)")
    d.add_argument("--word-heights", type=float, nargs=2, metavar=("LO", "HI"),
                   help="scale each training crop so its image's median word is LO to HI pixels tall (e.g. 8 64, as the shipped db: "
                        "pages of small print and photos then teach the same sizes; default: 0.5 to 1.6 times "
                        "the image's own scale)")
    d.add_argument("--val-max-side", type=int, default=1280, help="inference size limit for validation")
    return p, p.parse_args(argv)


def schedule(a, cls, run: dict | None = None) -> dict:
    """The kind's TrainConfig defaults, then the flags that were given."""
    given = {"steps": a.steps, "batch_size": a.batch_size, "lr": a.lr, "warmup_steps": a.warmup,
             "val_every": a.val_every, "seed": a.seed}
    if cls.__module__.startswith("recognizer"):
        given.update(anneal_fraction=a.anneal, augment=False if a.no_augment else None, select=a.select,
                     patience=a.patience)
    else:
        given.update(crop_size=a.crop_size, word_heights=a.word_heights)
    return asdict(cls(**{k: v for k, v in given.items() if v is not None}))


def main(argv=None) -> int:
    p, a = parse_args(argv)
    out = Path(a.out)
    if a.resume:
        if not (out / "run.json").is_file():
            p.error(f"--resume: {out} holds no run (run.json missing)")
        run = json.loads((out / "run.json").read_text())
        kind = run.get("kind", "detector" if "holdout" in run else "recognizer")  # runs before 0.2 had no kind
        if a.steps is not None and a.steps != run["train_config"]["steps"]:
            # A new schedule end: the decay (the detector's, or the recognizer's last anneal fraction) is
            # recomputed for it, so a run stretches over more sessions or finishes sooner.
            print(f"rescheduled: {run['train_config']['steps']} -> {a.steps} steps", file=sys.stderr)
            run["train_config"]["steps"] = a.steps
            (out / "run.json").write_text(json.dumps(run, indent=1))
        if a.data:
            print("warning: data folders are ignored with --resume: the run keeps its own", file=sys.stderr)
    else:
        if not a.data:
            p.error("give the training data folder(s), or --resume --out RUN")
        kinds = {data_kind(folder) for folder in a.data}
        kind = a.kind or kinds.pop()
        if not a.kind and kinds:
            p.error("the folders hold different kinds of data (crops and labelled photos); give --kind")
        run = None
    import torch

    torch.set_num_threads(a.threads)
    from detector.data import AnnotationError
    from recognizer.dataset import DataError

    # Ctrl-C asks the run to stop at the next step boundary, where its state resumes exactly.
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if kind == "detector":
            return train_detector(p, a, out, run, stop.is_set)
        return train_recognizer(p, a, out, run, stop.is_set)
    except (AnnotationError, DataError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGINT, previous)


def _report(out: Path, results: list[dict]) -> int:
    for res in results:
        print(json.dumps({k: v for k, v in res.items() if k != "train_config"}))
    if results and not results[-1]["finished"]:
        print(f"stopped at step {results[-1]['steps']}: continue with ocr-train --resume --out {out}", file=sys.stderr)
    return 0


def _split(samples, fraction: float, seed: int):
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(samples))
    n_val = int(round(len(samples) * fraction))
    return [samples[i] for i in order[n_val:]], [samples[i] for i in order[:n_val]]


def _folds(samples, k: int, seed: int):
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(samples))
    for f in range(k):
        held = set(order[f::k].tolist())
        yield [s for i, s in enumerate(samples) if i not in held], [s for i, s in enumerate(samples) if i in held]


def plan_run(p, a, samples) -> tuple[dict, list[str]]:
    """A new recognizer run's settings: the data's summary and the plan made from it, the flags winning."""
    from recognizer.charset import NAMED
    from recognizer.checkpoint import read_checkpoint, resolve_weights, shipped_models
    from recognizer.config import SIZES, RecognizerConfig
    from recognizer.plan import plan, summarize

    size = a.size or "fast"
    if size not in SIZES:
        p.error(f"--size {size}: the recognizer's sizes are {', '.join(SIZES)}")
    network_flags = [flag for flag, value in [("--size", a.size), ("--rnn", a.rnn), ("--rgb", a.rgb or None),
                                              ("--height", a.height)] if value is not None]
    fixed = {key: value for key, value in [("width", a.width), ("resize", a.resize), ("trim", a.trim),
                                           ("clutter", a.clutter), ("lr", a.lr), ("warmup", a.warmup)]
             if value is not None}
    if a.charset:
        fixed["charset"] = NAMED.get(a.charset, a.charset)
    if a.init:
        fixed["init"] = None if a.init.lower() == "none" else a.init
    elif network_flags:
        fixed["init"] = None  # a network of the user's own shape starts fresh
    summary = summarize(samples, seed=a.seed)
    choice = plan(summary, shipped_models(), lambda name: read_checkpoint(resolve_weights(name))["charset"], fixed)
    if a.val or a.folds or a.val_split is not None:  # validation as the user set it up
        choice.why["val_count"] = (f"the folders {', '.join(a.val)}" if a.val else f"{a.folds}-fold cross-validation"
                                   if a.folds else f"{a.val_split:.0%} held out at random (given)")
    if choice.init and network_flags:
        print(f"warning: {', '.join(network_flags)} ignored: --init {choice.init} fixes the network", file=sys.stderr)
    lines = ["data:"] + [f"  {line}" for line in summary.lines()] + ["settings:"] + [f"  {line}" for line in choice.lines()]
    run = {"kind": "recognizer", "train": a.data, "val": a.val, "label_sep": a.label_sep, "charset": choice.charset,
           "init": choice.init, "folds": a.folds, "seed": a.seed, "resize": choice.resize,
           "val_split": a.val_split if a.val_split is not None or a.val or a.folds else choice.val_count / len(samples),
           "clutter": choice.clutter, "lr": choice.lr, "warmup": choice.warmup,
           "model": RecognizerConfig.from_size(size, rnn=a.rnn or "lstm", channels=3 if a.rgb else 1,
                                               resize=choice.resize, width=choice.width, height=a.height or 64,
                                               trim=choice.trim).to_dict()}
    return run, lines


def train_recognizer(p, a, out: Path, run: dict | None, should_stop) -> int:
    from engine.training import fingerprint
    from recognizer.charset import NAMED, Charset
    from recognizer.checkpoint import read_checkpoint, resolve_weights
    from recognizer.config import RecognizerConfig
    from recognizer.dataset import DataError, read_folder
    from recognizer.training import TrainConfig, measure_speed, train

    started = time.time()
    folders = a.data if run is None else [run["train"]] if isinstance(run["train"], str) else run["train"]
    label_sep = a.label_sep if run is None else run["label_sep"]  # one folder before 0.2
    samples = [s for folder in folders for s in read_folder(folder, label_sep or None)]
    report: list[str] = []
    if run is None:
        run, report = plan_run(p, a, samples)
        print("\n".join(report), file=sys.stderr)
    data = fingerprint(f"{s.path}\t{s.text}" for s in samples)
    if a.resume and run.get("data", data) != data:
        if not a.new_data or not run["val"]:
            raise DataError(f"{', '.join(folders)}: the training data changed since the run started "
                            f"({run['data']['count']} samples then, {data['count']} now); resuming would reshuffle "
                            "the validation split. Start a new run" + (", or pass --new-data: the validation "
                                                                       "folders stay as they were" if run["val"] else ""))
        print(f"--new-data: {run['data']['count']} -> {data['count']} training samples; the run goes on with them",
              file=sys.stderr)
        run["data"] = data
        (out / "run.json").write_text(json.dumps(run, indent=1))
    init = read_checkpoint(resolve_weights(run["init"])) if run["init"] else None
    if init:  # its network, at this run's width (the convolutions do not depend on it) and preprocessing
        base = RecognizerConfig.from_dict(init["config"])
        model_cfg = replace(base, width=run["model"]["width"], resize=run.get("resize") or base.resize,
                            trim=run["model"].get("trim", False))
    else:
        model_cfg = RecognizerConfig.from_dict(run["model"])
    if run["charset"]:
        chars = run["charset"]
    elif init:  # runs before the plan: --init's characters, then any the labels add
        chars = init["charset"] + "".join(sorted(set("".join(s.text for s in samples)) - set(init["charset"])))
    else:
        chars = Charset.from_texts(s.text for s in samples).chars
    charset = Charset(NAMED.get(chars, chars))
    if init and not a.resume and set(charset.chars) != set(init["charset"]):
        print(f"charset: {len(init['charset'])} characters of --init, now {len(charset)}; "
              "the output rows of the shared ones carry over", file=sys.stderr)

    if run["folds"]:
        if not 2 <= run["folds"] <= len(samples):
            raise DataError(f"--folds must be from 2 to the number of samples ({len(samples)})")
        splits = [(out / f"fold-{i + 1}", tr, va) for i, (tr, va) in enumerate(_folds(samples, run["folds"], run["seed"]))]
    elif run["val"]:
        names = [run["val"]] if isinstance(run["val"], str) else run["val"]
        val_sets = {}
        for folder in names:
            name = Path(folder).name if Path(folder).name not in val_sets else folder
            val_sets[name] = read_folder(folder, run["label_sep"] or None)
        splits = [(out, samples, val_sets)]
    else:
        splits = [(out, *_split(samples, 0.1 if run["val_split"] is None else run["val_split"], run["seed"]))]

    minutes = a.minutes
    if a.resume:
        tcfg = TrainConfig.from_dict(run["train_config"])
    else:
        if a.steps and a.epochs:
            p.error("give --steps or --epochs, not both")
        tcfg = replace(TrainConfig(**schedule(a, TrainConfig)), clutter=run.get("clutter", False),
                       lr=run.get("lr", 1e-3), warmup_steps=run.get("warmup", 200))
        if a.epochs:
            tcfg = replace(tcfg, steps=int(round(a.epochs * max(1, len(splits[0][1]) // tcfg.batch_size))))
        elif not a.steps:  # fit the schedule to the time: the decay at its end is worth several points
            minutes = 30.0 if minutes is None else minutes
            speed = measure_speed(splits[0][1], model_cfg, charset, tcfg.batch_size, a.device, fp32=a.fp32)
            per_split = minutes / len(splits)
            steps = max(100, int(per_split * 60 * 0.85 * speed / tcfg.batch_size))
            tcfg = replace(tcfg, steps=steps, val_every=a.val_every or max(25, steps // 25),
                           patience=5 if a.patience is None else a.patience, paced=True)
            line = (f"schedule: {steps} steps of {tcfg.batch_size}"
                    + (f" per fold ({len(splits)} folds)" if len(splits) > 1 else "")
                    + f", to fit {minutes:g} minutes at {speed:.0f} samples/s measured here, then moved to the run's "
                      f"own pace; validation every {tcfg.val_every} steps; "
                    + (f"the decay starts early after {tcfg.patience} validations without improvement"
                       if tcfg.patience else "the decay starts on schedule (--patience 0)"))
            report.append(f"  {line}")
            print(f"  {line}", file=sys.stderr)
        tcfg = replace(tcfg, warmup_steps=min(tcfg.warmup_steps, tcfg.steps // 4))
        out.mkdir(parents=True, exist_ok=True)
        run.update(charset=charset.chars, train_config=asdict(tcfg), data=data)
        (out / "run.json").write_text(json.dumps(run, indent=1))
    print(f"model: {model_cfg}\ncharset ({len(charset)}): {charset.chars}", file=sys.stderr)

    results = []
    deadline = time.time() + minutes * 60 if minutes is not None else None  # for all folds together
    for i, (run_dir, tr, va) in enumerate(splits):
        resume = a.resume and (run_dir / "last.pt").is_file()  # under --resume, a fold never started starts now
        n_val = sum(map(len, va.values())) if isinstance(va, dict) else len(va)
        print(f"{run_dir}: {len(tr)} training, {n_val} validation samples; {tcfg.steps} steps", file=sys.stderr)
        results.append(train(run_dir, tr, va, model_cfg, charset, tcfg, init_checkpoint=init, resume=resume,
                             device=a.device, workers=a.workers, fp32=a.fp32,
                             max_minutes=None if deadline is None else
                             max(0.0, (deadline - time.time()) / 60 / (len(splits) - i)),  # an equal share
                             checkpoint_minutes=a.checkpoint_minutes, progress=not a.quiet, should_stop=should_stop))
        if not results[-1]["finished"]:
            return _report(out, results)
    _report(out, results)
    if run["folds"]:
        accs = [r["best_val_seq_acc"] for r in results]
        spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(f"{len(accs)}-fold cross-validation: sequence accuracy mean {statistics.mean(accs):.4f}, "
              f"std {spread:.4f}, min {min(accs):.4f}, max {max(accs):.4f}")
    final_report(out, report, splits, a.device, time.time() - started)
    return 0


def final_report(out: Path, planned: list[str], splits, device: str, seconds: float) -> None:
    """Each run's best model read on its validation images: accuracy and the most common confusions, then
    where the model is and how to use it; printed, and kept as report.txt in the run folder."""
    from collections import Counter

    from engine.images import load_image
    from recognizer.metrics import confusions, text_metrics
    from recognizer.predict import Recognizer

    lines = list(planned)
    mistakes: Counter = Counter()
    for run_dir, _, val in splits:
        parts = val if isinstance(val, dict) else {"": val}  # --val folders are scored one by one
        reader = None
        for name, samples in parts.items():
            samples = [s for s in samples if s.path.is_file()]
            if not samples:
                continue
            reader = reader or Recognizer.load(run_dir / "best.pt", device=device)
            readings = [r.text for r in reader([load_image(s.path) for s in samples])]
            truths = [s.text for s in samples]
            scores = text_metrics(readings, truths)
            mistakes.update(confusions(readings, truths))
            lines.append(f"{run_dir / 'best.pt'}: sequence accuracy {scores['seq_acc']:.4f}, character accuracy "
                         f"{scores['char_acc']:.4f} on {len(samples)} validation images{f' of {name}' if name else ''}")
    if mistakes:
        lines.append("most common confusions (truth -> read, '' = missing or extra): " + ", ".join(
            f"{t or chr(39) * 2} -> {r or chr(39) * 2} x{n}" for (t, r), n in mistakes.most_common(8)))
    lines.append(f"{seconds / 60:.1f} minutes in all")
    best = splits[0][0] / "best.pt"
    lines.append(f"read with: ocr-run --no-detect --model {best} IMAGE...")
    text = "\n".join(lines)
    print(text)
    (out / "report.txt").write_text(text + "\n", encoding="utf-8")


def train_detector(p, a, out: Path, run: dict | None, should_stop) -> int:
    from detector.checkpoint import resolve_weights
    from detector.config import KIND, SIZES, DetectorConfig
    from engine.checkpoint import read_checkpoint
    from detector.data import read_annotations, split_by_names
    from detector.training import TrainConfig, train
    from engine.training import fingerprint

    if run is None:
        size = a.size or "half"
        if size not in SIZES:
            p.error(f"--size {size}: the detector's sizes are {', '.join(SIZES)}")
        init = None if not a.init or a.init.lower() == "none" else a.init
        model = DetectorConfig(**SIZES[size]).to_dict()
        if init:  # fine-tuning: the network is the init's own
            model = read_checkpoint(resolve_weights(init), KIND)["config"]
        run = {"kind": "detector", "train": a.data, "holdout": a.holdout, "init": init, "model": model,
               "train_config": schedule(a, TrainConfig)}
    held = set()
    holdouts = run["holdout"] or []
    for name in [holdouts] if isinstance(holdouts, str) else holdouts:  # one file before 0.3, a list since
        holdout = Path(name)
        if not holdout.is_file() and (Path("tools/splits") / holdout.name).is_file():
            holdout = Path("tools/splits") / holdout.name  # the run was started from another checkout
        if not holdout.is_file():
            raise ValueError(f"--holdout {name}: no such file")
        held |= set(holdout.read_text().split())
    train_set, val_set = [], []
    for folder in run["train"]:
        tr, va = split_by_names(read_annotations(Path(folder)), held)
        train_set += tr
        val_set += [v for v in va if v.image not in {w.image for w in val_set}]
    data = fingerprint(str(t.image) for t in train_set)
    if a.resume and run.get("data", data) != data:
        raise ValueError(f"the training images changed since the run started ({run['data']['count']} then, "
                         f"{data['count']} now): resuming would not continue the same run; start a new one")
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps({**run, "data": data}, indent=1))
    print(f"{len(train_set)} training images, {len(val_set)} validation images", file=sys.stderr)
    result = train(out, train_set, val_set, DetectorConfig.from_dict(run["model"]),
                   TrainConfig.from_dict(run["train_config"]), init=run.get("init"), resume=a.resume, device=a.device,
                   workers=a.workers, fp32=a.fp32,
                   max_minutes=a.minutes, checkpoint_minutes=a.checkpoint_minutes, val_max_side=a.val_max_side,
                   progress=not a.quiet, should_stop=should_stop)
    return _report(out, [result])


if __name__ == "__main__":
    sys.exit(main())
