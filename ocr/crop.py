"""Perspective crops: a word's quadrilateral in a photo -> an upright crop at its natural size."""
from __future__ import annotations

import cv2
import numpy as np


def quad_size(quad: np.ndarray) -> tuple[int, int]:
    """(width, height) of a quadrilateral: its longer top/bottom edge and its longer left/right edge."""
    q = np.asarray(quad, dtype=np.float64)
    width = max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[3]))
    height = max(np.linalg.norm(q[3] - q[0]), np.linalg.norm(q[2] - q[1]))
    return max(1, int(round(width))), max(1, int(round(height)))


def crop_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Warp the quadrilateral ``quad`` (4x2, clockwise from the word's top-left, image pixels) upright.

    The output is (height, width[, C]) with the quad's natural size (see ``quad_size``); its first row
    runs along the quad's top edge, from point 0 to point 1.
    """
    q = np.asarray(quad, dtype=np.float32)
    if q.shape != (4, 2):
        raise ValueError(f"expected a 4x2 quadrilateral, got shape {q.shape}")
    w, h = quad_size(q)
    target = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(q, target)
    return cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
