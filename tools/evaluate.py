"""End-to-end evaluation of ocr-run's pipeline on labelled scene images (labels.jsonl or ICDAR 2015 gt files).

    python tools/evaluate.py --data ../shared/data/icdar2015-train --only tools/splits/icdar2015_val.txt

Reports, by the ICDAR 2015 rules:
- detection precision / recall / H-mean (IoU >= 0.5, one-to-one, detections inside '###' not counted);
- end-to-end word spotting P / R / H: a detection counts when it matches a word with IoU >= 0.5 AND its
  text equals the ground truth after folding case and dropping all but letters and digits ('###' and
  words with nothing left after folding are don't-care);
- recognition accuracy on the ground-truth quadrilaterals (folded, exact after folding);
- seconds per image, median and p90, from the decoded image to the result.
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

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from detector.data import AnnotationError, read_annotations, split_by_names
from detector.metrics import DetectionScore
from ocr.config import ConfigError, load_config
from ocr.draw import draw_words
from ocr.io import InputError, read_image
from ocr.pipeline import Pipeline
from recognizer.metrics import fold_text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="labels.jsonl folder or ICDAR 2015 ground-truth folder")
    p.add_argument("--only", help="file of image names to evaluate (e.g. tools/splits/icdar2015_val.txt)")
    p.add_argument("--config", help="pipeline YAML overriding any subset of pipeline.yaml")
    p.add_argument("--detector", help="detector weights (name or .pt)")
    p.add_argument("--model", help="recognizer weights (name or .pt)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--draw", help="write annotated images into this folder")
    p.add_argument("--errors", help="write misread ground-truth words here as TSV")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    overrides = {"detector": {"model": a.detector} if a.detector else {},
                 "recognizer": {"model": a.model} if a.model else {}}
    try:
        annotations = read_annotations(Path(a.data))
        if a.only:
            annotations = split_by_names(annotations, set(Path(a.only).read_text().split()))[1]
        pipeline = Pipeline.from_config(load_config(a.config, overrides))
    except (AnnotationError, ConfigError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.draw:
        Path(a.draw).mkdir(parents=True, exist_ok=True)
    detection, spotting = DetectionScore(), DetectionScore()
    seconds, read_ok, read_total, misreads = [], 0, 0, []
    for ann in tqdm(annotations, desc="evaluate", unit="img", file=sys.stderr):
        try:
            image = read_image(ann.image)
        except InputError as e:
            print(f"warning: skipping {e}", file=sys.stderr)
            continue
        start = time.perf_counter()
        result = pipeline(image)
        seconds.append(time.perf_counter() - start)
        det_polys = [w.points for w in result.words]
        detection.add(ann.polygons, ann.ignore, det_polys)
        gt_folded = [fold_text(t) for t in ann.texts]
        det_folded = [fold_text(w.text) for w in result.words]
        spot_ignore = [ig or not f for ig, f in zip(ann.ignore, gt_folded)]
        allowed = np.array([[g == d for d in det_folded] for g in gt_folded], dtype=bool).reshape(len(gt_folded), len(det_folded))
        spotting.add(ann.polygons, spot_ignore, det_polys, allowed)
        # Recognition alone: read every cared ground-truth quadrilateral.
        cared = [i for i, ig in enumerate(spot_ignore) if not ig and len(ann.polygons[i]) == 4]
        for i, reading in zip(cared, pipeline.read_regions(image, [ann.polygons[i] for i in cared])):
            read_total += 1
            if fold_text(reading.text) == gt_folded[i]:
                read_ok += 1
            else:
                misreads.append(f"{ann.image.name}\t{ann.texts[i]}\t{reading.text}\t{reading.confidence:.4f}\n")
        if a.draw:
            drawn = draw_words(image, [(w.points, w.text) for w in result.words])
            Image.fromarray(drawn).save(Path(a.draw) / ann.image.name)
    if a.errors:
        Path(a.errors).write_text("image\ttruth\treading\tconfidence\n" + "".join(misreads), encoding="utf-8")
    times = np.array(seconds or [0.0])
    out = {"images": len(seconds), "detection": detection.as_dict(), "end_to_end": spotting.as_dict(),
           "recognition_accuracy": read_ok / max(read_total, 1), "recognition_words": read_total,
           "seconds_median": float(np.median(times)), "seconds_p90": float(np.percentile(times, 90))}
    if a.json:
        print(json.dumps(out))
    else:
        d, e = out["detection"], out["end_to_end"]
        print(f"{out['images']} images from {a.data}")
        print(f"detection   P {d['precision']:.4f}  R {d['recall']:.4f}  H-mean {d['hmean']:.4f}")
        print(f"end-to-end  P {e['precision']:.4f}  R {e['recall']:.4f}  H-mean {e['hmean']:.4f}")
        print(f"recognition on ground-truth boxes: {out['recognition_accuracy']:.4f} of {read_total} words (folded)")
        print(f"seconds per image: median {out['seconds_median']:.3f}, p90 {out['seconds_p90']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
