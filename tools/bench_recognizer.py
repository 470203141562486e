"""Recognizer speed: crops/s at batch 1 and 64 for each model size, parameters and size on disk.

    python tools/bench_recognizer.py [--threads 2] [--device cpu] [--seconds 5]
    python tools/bench_recognizer.py --models words plates runs/mine/best.pt [--text-format br]   # as shipped

Times the whole read from decoded RGB arrays (160x60 captcha-sized crops) to text: preprocessing,
the network, greedy decoding (--decoder auto: as the pipeline reads, beam search with the language model for
word readers; on these random crops it meets more candidates than on real words, so time it on real crops
with ocr-eval, which prints crops/s). Speed does not depend on the weights, so sizes without a shipped
model are timed with random weights. Run it with nothing else busy on the machine.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps 2 threads fast beside other work

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # use this checkout's packages

import numpy as np
import torch

from recognizer.charset import Charset
from recognizer.config import SIZES, RecognizerConfig, RecognizerSettings
from engine.layers import count_parameters
from recognizer.model import CRNN
from recognizer.predict import Recognizer


def crops_per_second(rec: Recognizer, crops: list[np.ndarray], batch: int, seconds: float) -> float:
    rec([crops[0]] * batch)  # warm-up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        rec(crops[(done % len(crops)) : (done % len(crops)) + batch])
        done += batch
    return done / (time.perf_counter() - start)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--seconds", type=float, default=5.0, help="time per measurement (default 5)")
    p.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    p.add_argument("--rnn", default="lstm", choices=["lstm", "gru"])
    p.add_argument("--models", nargs="+", help="time these models (shipped names or .pt files) at their own input "
                                               "size instead of the sizes")
    p.add_argument("--text-format", default="", help="with --models: decode to this format (br, ar, LLLDDDD,...)")
    p.add_argument("--decoder", default="greedy", choices=["auto", "greedy", "beam"], help="(default greedy)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    charset = Charset("0123456789abcdefghijklmnopqrstuvwxyz")
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (60, 160, 3), dtype=np.uint8) for _ in range(256)]
    print(f"torch {torch.__version__}, {a.threads} threads, device {a.device}")
    print("| size | rnn | parameters | MB (fp32) | crops/s batch 1 | crops/s batch 64 |")
    print("|---|---|---|---|---|---|")
    if a.models:
        print("| model | input | parameters | crops/s batch 1 | crops/s batch 64 |")
        print("|---|---|---|---|---|")
        for name in a.models:
            results = []
            for batch in (1, 64):
                rec = Recognizer.load(name, RecognizerSettings(batch_size=batch, text_format=a.text_format,
                                                                    decoder=a.decoder), a.device)
                results.append(crops_per_second(rec, crops, batch, a.seconds))
            print(f"| {name} | {rec.cfg.width}x{rec.cfg.height} {rec.cfg.resize} | "
                  f"{count_parameters(rec.model) / 1e6:.2f} M | {results[0]:.0f} | {results[1]:.0f} |")
        return 0
    for size in a.sizes:
        model = CRNN(RecognizerConfig.from_size(size, rnn=a.rnn), charset.num_classes)
        results = []
        for batch in (1, 64):
            rec = Recognizer(model, charset, RecognizerSettings(batch_size=batch, decoder=a.decoder), device=a.device)
            results.append(crops_per_second(rec, crops, batch, a.seconds))
        params = count_parameters(model)
        print(f"| {size} | {a.rnn} | {params / 1e6:.2f} M | {params * 4 / 2**20:.1f} | "
              f"{results[0]:.0f} | {results[1]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
