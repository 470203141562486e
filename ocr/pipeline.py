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
from .types import OCRResult, TextRegion

VERTICAL = 1.5  # a crop at least this many times taller than wide is a word written top to bottom


def reading_order(quads: np.ndarray) -> list[list[int]]:
    """Indices of ``quads`` (N, 4, 2) grouped into text lines, top to bottom, each left to right.

    A box joins the first line whose mean centre height is within half a box height of its own centre.
    """
    q = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
    if not len(q):
        return []
    centre_y = q[:, :, 1].mean(axis=1)
    height = q[:, :, 1].max(axis=1) - q[:, :, 1].min(axis=1)
    left = q[:, :, 0].min(axis=1)
    lines: list[list[int]] = []
    for i in np.argsort(centre_y, kind="stable").tolist():
        for line in lines:
            line_height = max(float(np.median(height[line])), float(height[i]))
            if abs(centre_y[i] - centre_y[line].mean()) <= 0.5 * line_height:
                line.append(i)
                break
        else:
            lines.append([i])
    lines.sort(key=lambda line: centre_y[line].mean())
    return [sorted(line, key=lambda i: left[i]) for line in lines]


def upright_crops(image: np.ndarray, quad: np.ndarray) -> list[np.ndarray]:
    """The word's crop; for a vertical word both quarter turns (which way it reads is not known)."""
    crop = crop_quad(image, quad)
    if crop.shape[0] >= VERTICAL * crop.shape[1]:
        return [np.ascontiguousarray(np.rot90(crop, -1)), np.ascontiguousarray(np.rot90(crop, 1))]
    return [crop]


class Pipeline:
    """Build once, call on many images (RGB arrays or paths)."""

    def __init__(self, detector, recognizer, min_confidence: float = 0.0):
        self.detector, self.recognizer, self.min_confidence = detector, recognizer, min_confidence

    @classmethod
    def from_config(cls, cfg: PipelineConfig) -> "Pipeline":
        from detector.predict import Detector  # torch loads only when a pipeline is built
        from recognizer.predict import Recognizer

        d, r, device = cfg.detector, cfg.recognizer, cfg.device
        detector = Detector(d.model, max_side=d.max_side, bin_thresh=d.bin_thresh, box_thresh=d.box_thresh,
                            unclip_ratio=d.unclip_ratio, device=device)
        recognizer = Recognizer(r.model, decoder=r.decoder, beam_width=r.beam_width, device=device,
                                batch_size=r.batch_size)
        return cls(detector, recognizer, r.min_confidence)

    def read_regions(self, image: np.ndarray, quads) -> list:
        """The recognizer's best reading of each quadrilateral (a vertical word: its more confident turn).

        Every candidate crop goes to the recognizer in one call, so it batches them.
        """
        candidates = [upright_crops(image, q) for q in quads]
        readings = iter(self.recognizer([c for cands in candidates for c in cands]))
        return [max((next(readings) for _ in cands), key=lambda r: r.confidence) for cands in candidates]

    def __call__(self, image: np.ndarray | str | Path) -> OCRResult:
        if not isinstance(image, np.ndarray):
            image = read_image(image)
        detections = self.detector([image])[0]
        lines = reading_order(detections.quads)
        order = [i for line in lines for i in line]
        readings = self.read_regions(image, [detections.quads[i] for i in order])
        words, kept_lines, position = [], [], {}
        for i, best in zip(order, readings):
            if best.text and best.confidence >= self.min_confidence:
                position[i] = len(words)
                words.append(TextRegion(np.asarray(detections.quads[i], np.float32), best.text,
                                        float(best.confidence), float(detections.scores[i])))
        for line in lines:
            kept = [position[i] for i in line if i in position]
            if kept:
                kept_lines.append(kept)
        return OCRResult(width=image.shape[1], height=image.shape[0], words=words, lines=kept_lines)
