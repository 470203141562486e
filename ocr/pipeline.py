"""The end-to-end pipeline: detect -> reading order -> upright crops -> recognize -> OCRResult.

Stages are injected, so any callables with these shapes work (tests pass fakes):
- detector: list of RGB images -> list of objects with ``quads`` (N, 4, 2) and ``scores`` (N,)
- recognizer: list of upright RGB crops -> list of objects with ``text`` and ``confidence``
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import PipelineConfig
from .crop import crop_quad
from .io import read_image
from .layout import reading_order
from .types import OCRResult, TextRegion

VERTICAL = 1.5  # a crop at least this many times taller than wide is a word written top to bottom


def upright_crops(image: np.ndarray, quad: np.ndarray) -> list[np.ndarray]:
    """The word's crop; for a vertical word both quarter turns (which way it reads is not known)."""
    crop = crop_quad(image, quad)
    if crop.shape[0] >= VERTICAL * crop.shape[1]:
        return [np.ascontiguousarray(np.rot90(crop, -1)), np.ascontiguousarray(np.rot90(crop, 1))]
    return [crop]


def choose_backend(cfg: PipelineConfig, detect: bool) -> str:
    """``cfg.backend``, with auto resolved: onnx when onnxruntime is installed, the run is on the CPU and every
    model it needs has an ONNX export (shipped ones do); torch otherwise."""
    if cfg.backend != "auto":
        return cfg.backend
    from engine.onnx import available

    if cfg.device == "cuda" or not available():
        return "torch"
    from detector.onnx import onnx_path as detector_export
    from recognizer.onnx import onnx_path as recognizer_export

    try:
        recognizer_export(cfg.recognizer.model)
        if detect:
            detector_export(cfg.detector.model)
    except FileNotFoundError:
        return "torch"
    if cfg.device == "auto" and Path("/dev/nvidiactl").exists():  # a GPU is worth torch (checked without it)
        return "torch"
    return "onnx"


def whole_image(image: np.ndarray) -> np.ndarray:
    """The quadrilateral of a whole image, clockwise from its top-left: the region of ``detect=False``."""
    h, w = image.shape[:2]
    return np.float32([[0, 0], [w, 0], [w, h], [0, h]])


class Pipeline:
    """Build once, call on many images (RGB arrays or paths).

    With ``detect=False`` every image is one region, read whole (word crops, captchas, plates): the same
    result shape, the region's ``points`` being the image's corners and its ``det_score`` 1.
    """

    def __init__(self, detector, recognizer, min_confidence: float = 0.0, detect: bool = True):
        self.detector, self.recognizer, self.min_confidence, self.detect = detector, recognizer, min_confidence, detect

    @classmethod
    def from_config(cls, cfg: PipelineConfig, detect: bool = True, threads: int | None = None) -> "Pipeline":
        """The models ``cfg`` names, on its backend; ``threads``: onnxruntime threads per network."""
        if choose_backend(cfg, detect) == "onnx":  # torch is never imported on this path
            from detector.onnx import OnnxDetector
            from recognizer.onnx import OnnxRecognizer

            detector = OnnxDetector.load(settings=cfg.detector, threads=threads) if detect else None
            recognizer = OnnxRecognizer.load(settings=cfg.recognizer, threads=threads)
        else:
            from recognizer.predict import Recognizer  # torch loads only when a pipeline is built

            detector = None
            if detect:
                from detector.predict import Detector

                detector = Detector.load(settings=cfg.detector, device=cfg.device)
            recognizer = Recognizer.load(settings=cfg.recognizer, device=cfg.device)
        return cls(detector, recognizer, cfg.recognizer.min_confidence, detect)

    @property
    def batch_size(self) -> int:
        """Images worth reading together: the first stage's batch."""
        stage = self.detector if self.detect else self.recognizer
        return getattr(getattr(stage, "settings", None), "batch_size", 1)

    def read_regions(self, image: np.ndarray, quads) -> list:
        """The recognizer's best reading of each quadrilateral (a vertical word: its more confident turn)."""
        return self._read([[upright_crops(image, q) for q in quads]])[0]

    def _read(self, candidates: list[list[list[np.ndarray]]]) -> list[list]:
        """Per image, per region, its candidate crops -> per image, per region, the most confident reading.

        Every crop of every image goes to the recognizer in one call, so it batches them.
        """
        flat = [c for regions in candidates for cands in regions for c in cands]
        readings = iter(self.recognizer(flat))
        return [[max((next(readings) for _ in cands), key=lambda r: r.confidence) for cands in regions]
                for regions in candidates]

    def __call__(self, image: np.ndarray | str | Path) -> OCRResult:
        if not isinstance(image, np.ndarray):
            image = read_image(image)
        return self.read_batch([image])[0]

    def read_batch(self, images: list[np.ndarray], min_confidence: float | None = None) -> list[OCRResult]:
        """Several RGB images at once: the detector and the recognizer each batch across them.
        ``min_confidence`` overrides the pipeline's for this call."""
        threshold = self.min_confidence if min_confidence is None else min_confidence
        if self.detect:
            found = [(d.quads, d.scores) for d in self.detector(images)]
        else:
            found = [(whole_image(image)[None], np.ones(1, np.float32)) for image in images]
        orders = [reading_order(quads) for quads, _ in found]
        if self.detect:
            candidates = [[upright_crops(image, quads[i]) for line in lines for i in line]
                          for image, (quads, _), lines in zip(images, found, orders)]
        else:
            candidates = [[[image]] for image in images]
        return [self._result(image, quads, scores, lines, readings, threshold)
                for image, (quads, scores), lines, readings in zip(images, found, orders, self._read(candidates))]

    def _result(self, image, quads, scores, lines, readings, min_confidence: float) -> OCRResult:
        words, kept_lines, position = [], [], {}
        order = [i for line in lines for i in line]
        for i, best in zip(order, readings):
            if best.text and best.confidence >= min_confidence:
                position[i] = len(words)
                words.append(TextRegion(np.asarray(quads[i], np.float32), best.text, float(best.confidence),
                                        float(scores[i])))
        for line in lines:
            kept = [position[i] for i in line if i in position]
            if kept:
                kept_lines.append(kept)
        return OCRResult(width=image.shape[1], height=image.shape[0], words=words, lines=kept_lines)
