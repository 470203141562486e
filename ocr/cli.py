"""ocr-run: read text from images with the shipped models.

    ocr-run --no-detect word.png                        # one crop per image, shipped 'words' model
    ocr-run --no-detect --model captcha captcha.png     # the shipped captcha reader
    ocr-run --no-detect --model captcha-v2 --json - captchas/

Text detection (whole photos) comes with the detector; until then ``--no-detect`` reads each input
image as one cropped word or captcha.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps 2 threads fast beside other work

import argparse
import json
import sys
import time

import numpy as np

from .config import DEFAULT_CONFIG, ConfigError, load_config
from .io import InputError, expand_inputs, read_image


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="ocr-run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Defaults come from {DEFAULT_CONFIG} (a commented copy is pipeline.yaml in the project).")
    p.add_argument("inputs", nargs="+", help="image files, folders of images, or glob patterns")
    p.add_argument("--no-detect", action="store_true", help="read each image as one crop (no text detection)")
    p.add_argument("--model", help="recognizer: a shipped model name (words, captcha, captcha-v2) or a .pt file")
    p.add_argument("--config", help="a YAML file overriding any subset of pipeline.yaml")
    p.add_argument("--decoder", choices=["greedy", "beam"], help="CTC decoder")
    p.add_argument("--beam-width", type=int, help="prefixes kept by the beam decoder")
    p.add_argument("--min-confidence", type=float, help="drop readings below this confidence (0 to 1)")
    p.add_argument("--batch-size", type=int, help="crops per forward pass")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the models run")
    p.add_argument("--json", metavar="FILE", help="write JSON Lines, one record per image ('-' = stdout)")
    return p.parse_args(argv)


def cli_overrides(a) -> dict:
    rec = {"model": a.model, "decoder": a.decoder, "beam_width": a.beam_width,
           "min_confidence": a.min_confidence, "batch_size": a.batch_size}
    out: dict = {"recognizer": {k: v for k, v in rec.items() if v is not None}}
    if a.device:
        out["device"] = a.device
    return out


def main(argv=None) -> int:
    a = parse_args(argv)
    if not a.no_detect:
        print("error: text detection is not available in this version yet; pass --no-detect to read each "
              "image as one cropped word or captcha", file=sys.stderr)
        return 2
    try:
        cfg = load_config(a.config, cli_overrides(a))
    except ConfigError as e:
        print(f"error: config: {e}", file=sys.stderr)
        return 2

    from recognizer.predict import Recognizer  # torch loads only once the arguments are known good

    try:
        rec_cfg = cfg.recognizer
        recognizer = Recognizer(rec_cfg.model, decoder=rec_cfg.decoder, beam_width=rec_cfg.beam_width,
                                device=cfg.device, batch_size=rec_cfg.batch_size)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    recognizer([np.zeros((32, 32, 3), np.uint8)])  # warm-up, so that "seconds" times the reading alone
    paths, errors = expand_inputs(a.inputs)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    json_out = None
    if a.json:
        json_out = sys.stdout if a.json == "-" else open(a.json, "w", encoding="utf-8")
    from tqdm import tqdm

    failed = bool(errors)
    try:
        for path in tqdm(paths, desc="ocr", unit="img", file=sys.stderr, disable=len(paths) < 2, leave=False):
            start = time.perf_counter()
            try:
                image = read_image(path)
            except InputError as e:
                print(f"error: {e}", file=sys.stderr)
                failed = True
                continue
            reading = recognizer([image])[0]
            words = []
            if reading.text and reading.confidence >= rec_cfg.min_confidence:
                words.append({"text": reading.text, "score": round(reading.confidence, 4)})
            seconds = time.perf_counter() - start
            if json_out is not None:
                json_out.write(json.dumps({"image": path, "words": words, "seconds": round(seconds, 4)}) + "\n")
            if json_out is not sys.stdout:
                print(f"{path}\t{' '.join(w['text'] for w in words)}")
    finally:
        if json_out is not None and json_out is not sys.stdout:
            json_out.close()
    if not paths and not errors:
        print("error: no input images", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
