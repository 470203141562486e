"""Evaluate a detector by the ICDAR 2015 protocol: precision, recall, H-mean, images/s.

    python tools/eval_detector.py --data ../shared/data/icdar2015-train --only tools/splits/icdar2015_val.txt --weights runs/detector/best.pt
    python tools/eval_detector.py --data DIR --weights W --draw out/    # images with ground truth and detections
    # tune the post-processing: several values per threshold score every combination (the network runs once
    # per image and --max-side)
    python tools/eval_detector.py --data DIR --weights W --box-thresh 0.4 0.5 0.6 --unclip-ratio 1.5 1.8 2.1

IoU >= 0.5 between polygons, one-to-one matching; detections mostly inside a '###' region are not counted.
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

import itertools

import cv2
import numpy as np
import torch
from tqdm import tqdm

from detector.config import DetectorSettings
from detector.data import AnnotationError, read_annotations, split_by_names
from detector.metrics import DetectionScore
from detector.postprocess import boxes_from_prob
from detector.predict import Detector
from engine.images import load_image

DEFAULTS = DetectorSettings()


def draw(image: np.ndarray, gt, ignore, quads) -> np.ndarray:
    """BGR copy with ground truth in green (don't-care in grey) and detections in red."""
    out = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    for poly, ig in zip(gt, ignore):
        cv2.polylines(out, [np.round(poly).astype(np.int32)], True, (160, 160, 160) if ig else (0, 200, 0), 2)
    for q in quads:
        cv2.polylines(out, [np.round(q).astype(np.int32)], True, (0, 0, 255), 2)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="labels.jsonl folder or ICDAR 2015 ground-truth folder")
    p.add_argument("--weights", required=True, help="a shipped detector name or a .pt file")
    p.add_argument("--only", help="file of image names: evaluate just these (e.g. tools/splits/icdar2015_val.txt)")
    p.add_argument("--max-side", type=int, nargs="+", default=[DEFAULTS.max_side], help="inference size limit(s)")
    p.add_argument("--bin-thresh", type=float, nargs="+", default=[DEFAULTS.bin_thresh], help="binarization threshold(s)")
    p.add_argument("--box-thresh", type=float, nargs="+", default=[DEFAULTS.box_thresh], help="minimum box score(s)")
    p.add_argument("--unclip-ratio", type=float, nargs="+", default=[DEFAULTS.unclip_ratio], help="unclip ratio(s)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--draw", help="write annotated images into this folder")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    grid = list(itertools.product(a.bin_thresh, a.box_thresh, a.unclip_ratio))
    if a.draw and len(grid) * len(a.max_side) > 1:
        p.error("--draw takes one value per threshold")
    try:
        annotations = read_annotations(Path(a.data))
        if a.only:
            annotations = split_by_names(annotations, set(Path(a.only).read_text().split()))[1]
        detectors = {side: Detector.load(a.weights, DetectorSettings(max_side=side), device="cpu") for side in a.max_side}
    except (AnnotationError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.draw:
        Path(a.draw).mkdir(parents=True, exist_ok=True)
    scores = {(side, *g): DetectionScore() for side in a.max_side for g in grid}
    seconds = dict.fromkeys(scores, 0.0)
    images = 0
    for ann in tqdm(annotations, desc="detect", unit="img", file=sys.stderr):
        try:
            image = load_image(ann.image)
        except ValueError as e:
            print(f"warning: skipping {e}", file=sys.stderr)
            continue
        images += 1
        for side, detector in detectors.items():
            start = time.perf_counter()
            prob, scale = detector.probability(image)
            network = time.perf_counter() - start
            for bin_thresh, box_thresh, unclip_ratio in grid:
                start = time.perf_counter()
                quads, _ = boxes_from_prob(prob, scale, bin_thresh=bin_thresh, box_thresh=box_thresh,
                                           unclip_ratio=unclip_ratio)
                key = (side, bin_thresh, box_thresh, unclip_ratio)
                seconds[key] += network + time.perf_counter() - start
                scores[key].add(ann.polygons, ann.ignore, list(quads))
                if a.draw:
                    cv2.imwrite(str(Path(a.draw) / ann.image.name), draw(image, ann.polygons, ann.ignore, quads))
    results = [{"max_side": k[0], "bin_thresh": k[1], "box_thresh": k[2], "unclip_ratio": k[3],
                **score.as_dict(), "images": images, "images_per_s": images / max(seconds[k], 1e-9)}
               for k, score in scores.items()]
    for r in sorted(results, key=lambda r: -r["hmean"]) if len(results) > 1 else results:
        if a.json:
            print(json.dumps(r))
        else:
            setting = (f"max side {r['max_side']}, bin {r['bin_thresh']}, box {r['box_thresh']}, "
                       f"unclip {r['unclip_ratio']}: " if len(results) > 1 else "")
            print(f"{setting}{images} images: precision {r['precision']:.4f}, recall {r['recall']:.4f}, "
                  f"H-mean {r['hmean']:.4f}, {r['images_per_s']:.2f} images/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
