"""The pipeline's result types: plain dataclasses that turn into JSON-ready dicts."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class TextRegion:
    points: np.ndarray  # (N, 2) float32, image pixels, clockwise from the word's top-left (N = 4 for quads)
    text: str
    score: float  # recognition confidence in [0, 1] (see recognizer.charset)
    det_score: float  # mean text probability inside the detected region, in [0, 1]

    def to_dict(self, width: int | None = None, height: int | None = None) -> dict:
        """JSON-ready; with the image size, points are clipped to the image."""
        pts = np.asarray(self.points, dtype=np.float64)
        if width is not None and height is not None:
            pts = np.clip(pts, 0, [width - 1, height - 1])
        return {"points": [[round(float(x), 1), round(float(y), 1)] for x, y in pts], "text": self.text,
                "score": round(float(self.score), 4), "det_score": round(float(self.det_score), 4)}


@dataclass(frozen=True)
class OCRResult:
    width: int
    height: int
    words: list[TextRegion] = field(default_factory=list)  # in reading order
    lines: list[list[int]] = field(default_factory=list)  # indices into words, one list per text line

    @property
    def text(self) -> str:
        """Words joined by spaces, lines by newlines, in reading order."""
        return "\n".join(" ".join(self.words[i].text for i in line) for line in self.lines)

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height,
                "words": [w.to_dict(self.width, self.height) for w in self.words]}
