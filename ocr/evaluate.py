"""ocr-eval: score the engine on a labelled folder of word crops or of photos.

    ocr-eval my-crops/ --model runs/mine/best.pt          # crops: labels.tsv, or images named by their text
    ocr-eval photos/ --only names.txt --draw annotated/    # photos: labels.jsonl, or ICDAR 2015 gt_*.txt files

Crops (read whole, as ocr-run --no-detect): sequence accuracy, character accuracy (1 - CER), normalized edit
distance, the same after folding (the scene-text benchmarks' rule: case-insensitive, letters and digits only),
and crops/s from decoded images to text.

Photos (the whole pipeline, as ocr-run), by the ICDAR 2015 rules: detection precision / recall / H-mean
(IoU >= 0.5, one-to-one, detections inside '###' not counted), and again with the boxes of punctuation alone
(FUNSD's ':' of 6 x 11 pixels) not counted either; end-to-end word spotting (a detection counts
when it also reads the word, folded); recognition on the ground-truth quadrilaterals; seconds per image.
When labels.jsonl also gives each image's ``lines`` (tools/make_pages.py does), line accuracy: the share of
those lines that the engine prints exactly, each printed line matching at most one.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps 2 threads fast beside other work

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from .config import ConfigError, load_config
from .io import data_kind


def parse_args(argv):
    p = argparse.ArgumentParser(prog="ocr-eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="labelled folder of crops or of photos")
    p.add_argument("--kind", choices=["crops", "photos"], help="what the folder holds (default: from its labels)")
    p.add_argument("--config", help="a YAML file overriding any subset of pipeline.yaml")
    p.add_argument("--model", help="recognizer: a shipped model name or a .pt file")
    p.add_argument("--detector", help="detector: a shipped model name or a .pt file (photos)")
    p.add_argument("--decoder", choices=["auto", "greedy", "beam"],
                   help="CTC decoder (default auto: beam search with the language model where one applies)")
    p.add_argument("--language-model", help="auto, none, or a language model file (tools/make_lm.py)")
    p.add_argument("--text-format", "--plate-format", dest="text_format",
                   help="readings must fit a format: br, ar, or patterns such as LLLDDDD,LLLDLDD")
    p.add_argument("--batch-size", type=int, help="crops per forward pass")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the models run")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--label-sep", default="_", help="crops: file-name label separator (default _; '' = off)")
    p.add_argument("--only", help="photos: a file of image names to evaluate (e.g. tools/splits/icdar2015_val.txt)")
    p.add_argument("--draw", help="photos: write annotated images into this folder")
    p.add_argument("--errors", help="write the misreads here as TSV")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    overrides = {"detector": {"model": a.detector}, "recognizer": {"model": a.model, "decoder": a.decoder,
                                                                  "language_model": a.language_model,
                                                                  "text_format": a.text_format,
                                                                  "batch_size": a.batch_size}, "device": a.device}
    overrides = {k: ({kk: vv for kk, vv in v.items() if vv is not None} if isinstance(v, dict) else v)
                 for k, v in overrides.items() if v is not None}
    kind = a.kind or ("photos" if data_kind(a.data) == "detector" else "crops")
    import torch

    from detector.data import AnnotationError
    from recognizer.dataset import DataError

    torch.set_num_threads(a.threads)
    try:
        cfg = load_config(a.config, overrides)
        metrics = evaluate_crops(a, cfg) if kind == "crops" else evaluate_photos(a, cfg)
    except ConfigError as e:
        print(f"error: config: {e}", file=sys.stderr)
        return 2
    except (AnnotationError, DataError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(metrics) if a.json else report(kind, a.data, metrics))
    return 0


def _write_errors(path: str | None, header: str, rows: list[str]) -> None:
    if path:
        Path(path).write_text(header + "".join(rows), encoding="utf-8")


def evaluate_crops(a, cfg) -> dict:
    from engine.images import load_image
    from recognizer.dataset import read_folder
    from recognizer.metrics import fold_text, text_metrics
    from recognizer.predict import Recognizer

    samples = read_folder(a.data, a.label_sep or None)
    rec = Recognizer.load(settings=cfg.recognizer, device=cfg.device)
    crops, kept = [], []
    for s in samples:
        try:
            crops.append(load_image(s.path))
            kept.append(s)
        except ValueError as e:
            print(f"warning: skipping {e}", file=sys.stderr)
    if not kept:
        raise ValueError(f"{a.data}: no readable images")
    rec(crops[:1])  # warm-up: first-call allocations are not part of the throughput
    start = time.perf_counter()
    readings = rec(crops)
    seconds = time.perf_counter() - start
    texts, truths = [r.text for r in readings], [s.text for s in kept]
    metrics = text_metrics(texts, truths)
    folded = text_metrics([fold_text(t) for t in texts], [fold_text(t) for t in truths])
    metrics.update({f"folded_{k}": v for k, v in folded.items() if k != "count"})
    metrics.update(unreadable=len(samples) - len(kept), crops_per_s=len(crops) / seconds, weights=str(rec.path),
                   decoder=rec.decoding, device=rec.device.type)
    _write_errors(a.errors, "file\ttruth\treading\tconfidence\n",
                  [f"{s.path}\t{s.text}\t{r.text}\t{r.confidence:.4f}\n" for s, r in zip(kept, readings) if r.text != s.text])
    return metrics


def evaluate_photos(a, cfg) -> dict:
    from tqdm import tqdm

    from detector.data import read_annotations, split_by_names
    from detector.metrics import DetectionScore
    from engine.images import load_image
    from recognizer.metrics import fold_text

    from .draw import draw_words
    from .pipeline import Pipeline

    annotations = read_annotations(Path(a.data))
    if a.only:
        annotations = split_by_names(annotations, set(Path(a.only).read_text().split()))[1]
    pipeline = Pipeline.from_config(cfg)
    if a.draw:
        Path(a.draw).mkdir(parents=True, exist_ok=True)
    detection, detection_words, spotting = DetectionScore(), DetectionScore(), DetectionScore()
    seconds, read_ok, read_total, misreads = [], 0, 0, []
    truth_lines = page_lines(Path(a.data))
    lines_ok = lines_total = 0
    for ann in tqdm(annotations, desc="evaluate", unit="img", file=sys.stderr, disable=None):
        try:
            image = load_image(ann.image)
        except ValueError as e:
            print(f"warning: skipping {e}", file=sys.stderr)
            continue
        start = time.perf_counter()
        result = pipeline(image)
        seconds.append(time.perf_counter() - start)
        if ann.image.name in truth_lines:
            printed = Counter(result.text.splitlines())
            lines_total += len(truth_lines[ann.image.name])
            lines_ok += sum((Counter(truth_lines[ann.image.name]) & printed).values())
        det_polys = [w.points for w in result.words]
        detection.add(ann.polygons, ann.ignore, det_polys)
        gt_folded = [fold_text(t) for t in ann.texts]
        det_folded = [fold_text(w.text) for w in result.words]
        spot_ignore = [ig or not f for ig, f in zip(ann.ignore, gt_folded)]
        detection_words.add(ann.polygons, spot_ignore, det_polys)  # boxes of punctuation alone not counted
        allowed = np.array([[g == d for d in det_folded] for g in gt_folded], dtype=bool).reshape(len(gt_folded),
                                                                                                  len(det_folded))
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
            from PIL import Image

            Image.fromarray(draw_words(image, [(w.points, w.text) for w in result.words])).save(
                Path(a.draw) / ann.image.name)
    _write_errors(a.errors, "image\ttruth\treading\tconfidence\n", misreads)
    times = np.array(seconds or [0.0])
    return {"images": len(seconds), "detection": detection.as_dict(), "detection_words": detection_words.as_dict(),
            "end_to_end": spotting.as_dict(),
            "recognition_accuracy": read_ok / max(read_total, 1), "recognition_words": read_total,
            "seconds_median": float(np.median(times)), "seconds_p90": float(np.percentile(times, 90)),
            **({"line_accuracy": lines_ok / lines_total, "lines": lines_total} if lines_total else {})}


def page_lines(folder: Path) -> dict[str, list[str]]:
    """Image name -> its lines, from a labels.jsonl whose records carry ``lines``; empty otherwise."""
    path = folder / "labels.jsonl"
    if not path.is_file():
        return {}
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["image"]: r["lines"] for r in records if "lines" in r}


def report(kind: str, data: str, m: dict) -> str:
    if kind == "crops":
        return "\n".join([
            f"{m['count']} crops ({m['unreadable']} unreadable) from {data}, weights {Path(m['weights']).name}, "
            f"{m['decoder']} decoding on {m['device']}",
            f"sequence accuracy  {m['seq_acc']:.4f}",
            f"character accuracy {m['char_acc']:.4f}  (1 - CER)",
            f"folded (case-insensitive, letters and digits only): sequence accuracy {m['folded_seq_acc']:.4f}, "
            f"character accuracy {m['folded_char_acc']:.4f}",
            f"normalized edit distance {m['norm_ed']:.4f}",
            f"speed {m['crops_per_s']:.1f} crops/s"])
    d, w, e = m["detection"], m["detection_words"], m["end_to_end"]
    return "\n".join([
        f"{m['images']} images from {data}",
        f"detection   P {d['precision']:.4f}  R {d['recall']:.4f}  H-mean {d['hmean']:.4f}",
        f"  boxes of punctuation alone not counted: P {w['precision']:.4f}  R {w['recall']:.4f}  "
        f"H-mean {w['hmean']:.4f}",
        f"end-to-end  P {e['precision']:.4f}  R {e['recall']:.4f}  H-mean {e['hmean']:.4f}",
        f"recognition on ground-truth boxes: {m['recognition_accuracy']:.4f} of {m['recognition_words']} words (folded)",
        f"seconds per image: median {m['seconds_median']:.3f}, p90 {m['seconds_p90']:.3f}"]
        + ([f"lines read exactly: {m['line_accuracy']:.4f} of {m['lines']}"] if "lines" in m else []))


if __name__ == "__main__":
    sys.exit(main())
