"""Evaluate a recognizer on a labelled folder of crops.

    python tools/eval_recognizer.py --data data/captcha-test --weights captcha [--decoder beam] [--errors misreads.tsv]

Prints sequence accuracy, character accuracy (1 - CER), mean normalized edit distance, the same
accuracies after folding case and dropping all but letters and digits (the scene-text benchmarks' rule),
and crops/s
(from decoded image arrays to text: preprocessing, network and decoding; file reading excluded).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps 2 threads fast beside other work

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # use this checkout's packages

import torch
from tqdm import tqdm

from recognizer.dataset import DataError, load_image, read_folder
from recognizer.metrics import fold_text, text_metrics
from recognizer.predict import Recognizer


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder: labels.tsv, or images named by their text")
    p.add_argument("--weights", required=True, help="a shipped model name (words, captcha, captcha-v2) or a .pt file")
    p.add_argument("--label-sep", default="_", help="file-name label separator (default _; '' = off)")
    p.add_argument("--decoder", choices=["greedy", "beam"], default="greedy")
    p.add_argument("--beam-width", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--errors", help="write the misreads here as TSV: file, truth, reading, confidence")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    try:
        samples = read_folder(a.data, a.label_sep or None)
        rec = Recognizer(a.weights, decoder=a.decoder, beam_width=a.beam_width, device=a.device, batch_size=a.batch_size)
    except (DataError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    crops, kept, unreadable = [], [], 0
    for s in tqdm(samples, desc="read", unit="img", file=sys.stderr, leave=False):
        try:
            crops.append(load_image(s.path))
            kept.append(s)
        except ValueError as e:
            unreadable += 1
            print(f"warning: skipping {e}", file=sys.stderr)
    if not kept:
        print(f"error: {a.data}: no readable images", file=sys.stderr)
        return 2

    rec([crops[0]])  # warm-up: first-call allocations are not part of the throughput
    readings = []
    start = time.perf_counter()
    for i in tqdm(range(0, len(crops), a.batch_size), desc="recognize", unit="batch", file=sys.stderr, leave=False):
        readings += rec(crops[i : i + a.batch_size])
    seconds = time.perf_counter() - start

    truths = [s.text for s in kept]
    metrics = text_metrics([r.text for r in readings], truths)
    folded = text_metrics([fold_text(r.text) for r in readings], [fold_text(t) for t in truths])
    metrics.update({f"folded_{k}": v for k, v in folded.items() if k != "count"})
    metrics.update(unreadable=unreadable, crops_per_s=len(crops) / seconds, weights=str(rec.path),
                   decoder=a.decoder, device=rec.device.type)
    if a.errors:
        with open(a.errors, "w", encoding="utf-8") as f:
            f.write("file\ttruth\treading\tconfidence\n")
            for s, r in zip(kept, readings):
                if r.text != s.text:
                    f.write(f"{s.path}\t{s.text}\t{r.text}\t{r.confidence:.4f}\n")
    if a.json:
        print(json.dumps(metrics))
    else:
        print(f"{metrics['count']} crops ({unreadable} unreadable) from {a.data}, weights {rec.path.name}, "
              f"{a.decoder} decoding on {metrics['device']}")
        print(f"sequence accuracy  {metrics['seq_acc']:.4f}")
        print(f"character accuracy {metrics['char_acc']:.4f}  (1 - CER)")
        print(f"folded (case-insensitive, letters and digits only): sequence accuracy {metrics['folded_seq_acc']:.4f}, "
              f"character accuracy {metrics['folded_char_acc']:.4f}")
        print(f"normalized edit distance {metrics['norm_ed']:.4f}")
        print(f"speed {metrics['crops_per_s']:.1f} crops/s (batch {a.batch_size})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
