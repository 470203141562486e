"""ocr-export: write ONNX copies of models, so they run on onnxruntime (ocr-run --backend onnx), without torch.

    ocr-export words db                      # shipped models: their .onnx goes beside the .pt in the package
    ocr-export runs/mine/best.pt             # your model: runs/mine/best.onnx
    ocr-export runs/det/best.pt --kind detector
    ocr-export db --int8 photos/ pages/      # and db.int8.onnx, calibrated on 40 of these images

Each export is checked against its torch model on random inputs of several sizes before it is kept. A detector's
int8 copy (--int8) runs 1.4 times as fast on onnxruntime, which prefers it (detector.int8 in pipeline.yaml); its
calibration images should look like what it will read (photos and pages for the shipped db), and should not be
the ones it is evaluated on.

Needs the onnx extra: pip install 'crnn-ocr[onnx]'.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="ocr-export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="shipped model names or .pt files")
    p.add_argument("--kind", choices=["auto", "recognizer", "detector"], default="auto",
                   help="what the models are (default: from the checkpoint)")
    p.add_argument("--out", help="where to write (one model only; default: beside the .pt, as .onnx)")
    p.add_argument("--int8", nargs="+", metavar="IMAGES",
                   help="detectors: also write an int8 copy (NAME.int8.onnx), calibrated on images from these "
                        "folders or files")
    p.add_argument("--calibration-images", type=int, default=40,
                   help="how many of the --int8 images to calibrate on, spread over them (default 40)")
    a = p.parse_args(argv)
    if a.out and len(a.models) > 1:
        p.error("--out takes one model")
    if a.calibration_images < 1:
        p.error("--calibration-images must be at least 1")
    calibration = None
    if a.int8:
        calibration = calibration_images(a.int8, a.calibration_images)
        if not calibration:
            p.error(f"--int8: no images in {' '.join(a.int8)}")
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        print("error: ocr-export needs the onnx extra: pip install 'crnn-ocr[onnx]'", file=sys.stderr)
        return 2
    failed = False
    for name in a.models:
        try:
            path = export_one(name, a.kind, a.out)
            print(f"{name}: wrote {path}")
            if calibration:
                path, difference = quantize_one(path, calibration)
                print(f"{name}: wrote {path} (calibrated on {len(calibration)} images; its probability maps "
                      f"differ by {difference:.4f} on average)")
        except (FileNotFoundError, ValueError, AssertionError, RuntimeError, AttributeError) as e:
            print(f"error: {name}: {e}", file=sys.stderr)
            failed = True
    return 2 if failed else 0


def export_one(name: str, kind: str, out: str | None) -> Path:
    import torch

    from recognizer import checkpoint as rec_ckpt

    if kind == "auto":  # a shipped name is looked up among the recognizers first; a file says its kind
        path = Path(name)
        if path.is_file():
            kind = torch.load(path, map_location="cpu", weights_only=True).get("kind", "recognizer")
        else:
            kind = "recognizer" if name in rec_ckpt.shipped_models() else "detector"
    rng = np.random.default_rng(0)
    if kind == "recognizer":
        from recognizer.onnx import OnnxRecognizer, export_recognizer
        from recognizer.predict import Recognizer

        torch_model = Recognizer.load(name, device="cpu")
        path = export_recognizer(torch_model, out or torch_model.path.with_suffix(".onnx"))
        onnx_model = OnnxRecognizer.load(path)
        crops = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(32, 100), (64, 128), (20, 300)]]
    else:
        from detector.config import DetectorSettings
        from detector.onnx import OnnxDetector, export_detector
        from detector.predict import Detector

        torch_model = Detector.load(name, device="cpu")
        path = export_detector(torch_model, out or torch_model.path.with_suffix(".onnx"))
        onnx_model = OnnxDetector.load(path, DetectorSettings(int8=False))  # this export, not an older int8 copy
        crops = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(96, 160), (200, 120)]]
    want, got = torch_model.probabilities(crops), onnx_model.probabilities(crops)
    pairs = zip(want, got) if kind == "detector" else [(want, got)]
    for a, b in pairs:
        a, b = (a[0], b[0]) if kind == "detector" else (a, b)
        if a.shape != b.shape or np.abs(a - b).max() > 1e-3:
            path.unlink()
            raise AssertionError(f"the ONNX export differs from the torch model (max difference "
                                 f"{np.abs(a - b).max() if a.shape == b.shape else 'shape'}); not kept")
    return Path(path)


def calibration_images(inputs: list[str], count: int) -> list[Path]:
    """Up to ``count`` images of ``inputs`` (files, or folders searched through), evenly spread, in a fixed order."""
    from engine.images import IMAGE_SUFFIXES

    found: list[Path] = []
    for name in inputs:
        path = Path(name)
        found += [path] if path.is_file() else sorted(f for f in path.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
    step = max(1, len(found) / count)
    return [found[int(i * step)] for i in range(min(count, len(found)))]


def quantize_one(export_path: Path, images: list[Path]) -> tuple[Path, float]:
    """The int8 copy of a detector export, or ValueError for another kind of model."""
    from detector.config import DetectorSettings
    from detector.onnx import quantize_detector
    from engine.images import load_image
    from engine.onnx import OnnxNetwork

    if OnnxNetwork(export_path).description.get("kind") != "detector":
        raise ValueError("--int8 makes int8 copies of detectors only (the recognizers' LSTMs gain little)")
    path, difference = quantize_detector(export_path, [load_image(p) for p in images], DetectorSettings())
    if difference > MAX_INT8_DIFFERENCE:
        path.unlink()
        raise ValueError(f"the int8 copy's probability maps differ by {difference:.3f} on average (more than "
                         f"{MAX_INT8_DIFFERENCE}); not kept")
    return path, difference


# The shipped db's int8 copy differs by about 0.001 (detection H-mean within 0.01): far above that, it is broken.
MAX_INT8_DIFFERENCE = 0.02


if __name__ == "__main__":
    sys.exit(main())
