"""Evaluate a detector by the ICDAR 2015 protocol: precision, recall, H-mean, images/s.

    python tools/eval_detector.py --data ../shared/data/icdar2015-train --only tools/splits/icdar2015_val.txt --weights runs/detector/best.pt
    python tools/eval_detector.py --data DIR --weights W --draw out/    # images with ground truth and detections

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

import cv2
import numpy as np
import torch
from tqdm import tqdm

from detector.data import AnnotationError, read_annotations, split_by_names
from detector.dataset import read_rgb
from detector.metrics import DetectionScore
from detector.predict import Detector


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
    p.add_argument("--max-side", type=int, default=1280)
    p.add_argument("--box-thresh", type=float, default=0.5)
    p.add_argument("--unclip-ratio", type=float, default=1.5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--draw", help="write annotated images into this folder")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    try:
        annotations = read_annotations(Path(a.data))
        if a.only:
            annotations = split_by_names(annotations, set(Path(a.only).read_text().split()))[1]
        detector = Detector(a.weights, max_side=a.max_side, box_thresh=a.box_thresh, unclip_ratio=a.unclip_ratio)
    except (AnnotationError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.draw:
        Path(a.draw).mkdir(parents=True, exist_ok=True)
    score, seconds = DetectionScore(), 0.0
    for ann in tqdm(annotations, desc="detect", unit="img", file=sys.stderr):
        try:
            image = read_rgb(ann.image)
        except ValueError as e:
            print(f"warning: skipping {e}", file=sys.stderr)
            continue
        start = time.perf_counter()
        dets = detector([image])[0]
        seconds += time.perf_counter() - start
        score.add(ann.polygons, ann.ignore, list(dets.quads))
        if a.draw:
            cv2.imwrite(str(Path(a.draw) / ann.image.name), draw(image, ann.polygons, ann.ignore, dets.quads))
    result = {**score.as_dict(), "images": len(annotations), "images_per_s": len(annotations) / max(seconds, 1e-9)}
    if a.json:
        print(json.dumps(result))
    else:
        print(f"{len(annotations)} images: precision {result['precision']:.4f}, recall {result['recall']:.4f}, "
              f"H-mean {result['hmean']:.4f}, {result['images_per_s']:.2f} images/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
