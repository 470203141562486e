"""What every detector backend shares, torch-free: images -> network input -> probability maps -> word boxes.

A backend (``detector.predict.Detector`` on torch, ``detector.onnx.OnnxDetector`` on onnxruntime) only says
how its network turns a batch of normalized images into text probability maps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import DetectorSettings
from .postprocess import boxes_from_prob
from .transforms import normalize, paper_share, resize_for_inference


PAPER_SHARE = 0.5  # see transforms.paper_share: two-column test pages 0.57 to 0.88, FUNSD forms 0.82 to 0.94;
# 5.6 % of 431 ICDAR 2015 photos and wallpapers reach it (an extra pass for them, and only when shrunk)


PAGE_MARGIN = 3.0  # word heights of context kept around the print for the enlarged pass


@dataclass(frozen=True)
class Detections:
    quads: np.ndarray  # (N, 4, 2) float32, original image pixels, clockwise from each word's top-left
    scores: np.ndarray  # (N,) float32: mean text probability inside each region


def word_heights(found: Detections) -> np.ndarray:
    """Each box's height: its left edge, top-left to bottom-left."""
    return np.linalg.norm(found.quads[:, 3] - found.quads[:, 0], axis=1)


class Finder:
    """Finds words in RGB uint8 images of any size; see ``detector.postprocess`` for the thresholds."""

    settings: DetectorSettings
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        """(B, 3, H, W) normalized float32 -> (B, H, W) text probabilities."""
        raise NotImplementedError

    def probability(self, image: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        """The text probability map of one image at its inference size, and the factors back to the input."""
        return self.probabilities([image])[0]

    def probabilities(self, images: list[np.ndarray], enlarge: float | None = None
                      ) -> list[tuple[np.ndarray, tuple[float, float]]]:
        """``probability`` for several images. Images resized to the same size share forward passes
        (``batch_size`` at a time); other sizes never share one, so no map depends on its neighbours.
        ``enlarge`` overrides the settings' (see ``resize_for_inference``)."""
        enlarge = self.settings.enlarge if enlarge is None else enlarge
        resized = [resize_for_inference(image, self.settings.max_side, enlarge) for image in images]
        groups: dict[tuple, list[int]] = {}
        for i, (r, _) in enumerate(resized):
            groups.setdefault(r.shape, []).append(i)
        maps: list = [None] * len(images)
        size = self.settings.batch_size
        for members in groups.values():
            for first in range(0, len(members), size):
                chunk = members[first : first + size]
                prob = self._forward(np.stack([normalize(resized[i][0], self.mean, self.std) for i in chunk]))
                for j, i in enumerate(chunk):
                    maps[i] = (prob[j], resized[i][1])
        return maps

    def boxes(self, prob: np.ndarray, scale: tuple[float, float], unclip_ratio: float | None = None) -> Detections:
        """One probability map -> words in the input image's pixels.

        Not clipped to the image: clipping corners one by one would skew a box that sticks out, and the crop
        replicates the border anyway. Writers clip what they output.
        """
        s = self.settings
        quads, scores = boxes_from_prob(prob, scale, bin_thresh=s.bin_thresh, box_thresh=s.box_thresh,
                                        unclip_ratio=s.unclip_ratio if unclip_ratio is None else unclip_ratio)
        return Detections(np.asarray(quads, np.float32).reshape(-1, 4, 2), np.asarray(scores, np.float32))

    def is_page(self, found: Detections, image: np.ndarray | None = None) -> bool:
        """A page of print, worth reading again enlarged (see ``DetectorSettings``): many words that the first pass
        saw small (their median height at its scale: a page the first pass shrank shows its words smaller than
        they are); or, for an image the first pass shrank, few words on what looks like paper (print so small
        that shrinking hid it)."""
        s = self.settings
        if not s.page_enlarge:
            return False
        shrink = 1.0 if image is None else min(1.0, s.max_side / max(image.shape[:2]))
        if len(found.quads) < s.page_words:
            return shrink < 1 and paper_share(image) >= PAPER_SHARE
        return float(np.median(word_heights(found))) * shrink < s.small_text

    def page_window(self, found: Detections, image: np.ndarray) -> tuple[int, int, int, int]:
        """The part of a page the enlarged pass reads, (x0, y0, x1, y1): the first pass's words with a margin of
        PAGE_MARGIN word heights (margins and blank edges cost the most pixels at page scale: about 30 % of a
        FUNSD form); the whole image when the first pass found too few words to say where the print is."""
        h, w = image.shape[:2]
        if len(found.quads) < self.settings.page_words:
            return 0, 0, w, h
        margin = PAGE_MARGIN * float(np.median(word_heights(found)))
        low = np.floor(found.quads.reshape(-1, 2).min(axis=0) - margin)
        high = np.ceil(found.quads.reshape(-1, 2).max(axis=0) + margin)
        x0, y0, x1, y1 = int(max(low[0], 0)), int(max(low[1], 0)), int(min(high[0], w)), int(min(high[1], h))
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else (0, 0, w, h)

    def __call__(self, images: list[np.ndarray]) -> list[Detections]:
        """Words in each image, in input order. Pages of small print are read a second time, enlarged."""
        found = [self.boxes(prob, scale) for prob, scale in self.probabilities(images)]
        pages = [i for i, (f, image) in enumerate(zip(found, images)) if self.is_page(f, image)]
        if not pages:
            return found
        windows = [self.page_window(found[i], images[i]) for i in pages]
        again = self.probabilities([images[i][y0:y1, x0:x1] for i, (x0, y0, x1, y1) in zip(pages, windows)],
                                   enlarge=self.settings.page_enlarge)
        for i, (x0, y0, _, _), (prob, scale) in zip(pages, windows, again):
            inside = self.boxes(prob, scale, self.settings.page_unclip_ratio)
            found[i] = Detections(inside.quads + np.float32([x0, y0]), inside.scores)
        return found
