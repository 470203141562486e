"""Detector speed: seconds per 1280x720 photo on CPU at a size limit, parameters and MB.

    python tools/bench_detector.py [--max-side 1280] [--threads 2] [--weights W]

Times the whole detection from a decoded RGB array (resize, network, post-processing). Without
--weights the half-size network is timed with random weights (speed does not depend on them; the
post-processing then sees few regions). Run it with nothing else busy on the machine.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps 2 threads fast beside other work

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # use this checkout's packages

import numpy as np
import torch

from detector.config import SIZES, DetectorConfig, DetectorSettings
from detector.model import DBNet
from engine.layers import count_parameters
from detector.predict import Detector


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", help="a detector checkpoint (default: random half-size weights)")
    p.add_argument("--max-side", type=int, default=1280)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=10)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    settings = DetectorSettings(max_side=a.max_side)
    detector = (Detector.load(a.weights, settings, device="cpu") if a.weights
                else Detector(DBNet(DetectorConfig(**SIZES["half"])), settings, device="cpu"))
    photo = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    detector([photo])  # warm-up
    times = []
    for _ in range(a.runs):
        start = time.perf_counter()
        detector([photo])
        times.append(time.perf_counter() - start)
    params = count_parameters(detector.model)
    print(f"torch {torch.__version__}, {a.threads} threads, max side {a.max_side}")
    print(f"parameters {params / 1e6:.2f} M, {params * 4 / 2**20:.1f} MB fp32")
    print(f"seconds per 1280x720 photo: median {statistics.median(times):.3f}, min {min(times):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
