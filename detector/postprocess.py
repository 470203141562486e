"""DBNet post-processing: a text probability map -> scored oriented quadrilaterals (or polygons).

Pure numpy/OpenCV/pyclipper. The map's frame: x right, y down, pixel (row r, column c) at the point
(c, r). Results are mapped to the original image by multiplying x by scale[0] and y by scale[1].

Point order (``order_points``): clockwise on screen from the word's top-left, i.e. [top-left,
top-right, bottom-right, bottom-left] of the word as read, assuming words are never upside down.
The top edge is one of the box's long sides when the box is elongated (long >= 1.5 x short) and
that side is tilted less than 80 degrees from horizontal: such a box is a word, rotated up to
+-80 degrees. Otherwise (near-square boxes, or long sides within 10 degrees of vertical) the box is
taken as upright: the top edge is the side closest to horizontal. Of the two candidate sides, the
top one is the one whose midpoint is higher (smaller y). So a tall, near-vertical box (one character,
a stacked word, or a word on its side) starts at its on-screen top-left corner and keeps its height.
"""
from __future__ import annotations

import cv2
import numpy as np

from .labels import offset_polygon, polygon_area, polygon_perimeter

_ELONGATED = 1.5  # long / short side from which a box reads along its long side
_MAX_WORD_TILT = 80.0  # degrees; steeper long sides are read as an upright tall box


def order_points(pts: np.ndarray) -> np.ndarray:
    """Four corners (4, 2) of a convex quadrilateral, any order -> float32 (4, 2) in the module's order."""
    p = np.asarray(pts, dtype=np.float64)
    if p.shape != (4, 2):
        raise ValueError(f"expected 4 corners of shape (4, 2), got shape {p.shape}")
    c = p.mean(axis=0)
    # With y down, an increasing atan2 angle turns clockwise on screen.
    p = p[np.argsort(np.arctan2(p[:, 1] - c[1], p[:, 0] - c[0]), kind="stable")]
    edges = np.roll(p, -1, axis=0) - p  # edge i runs p[i] -> p[i + 1]
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    tilt = np.degrees(np.arctan2(np.abs(edges[:, 1]), np.abs(edges[:, 0])))  # 0 horizontal, 90 vertical
    pair_len = lengths[:2] + lengths[2:]
    pair_tilt = (tilt[:2] + tilt[2:]) / 2
    long_pair = int(pair_len[1] > pair_len[0])
    elongated = pair_len[long_pair] >= _ELONGATED * pair_len[1 - long_pair]
    if elongated and pair_tilt[long_pair] < _MAX_WORD_TILT:
        pair = long_pair
    else:
        pair = int(pair_tilt[1] < pair_tilt[0])
    mid_y = p[:, 1] + edges[:, 1] / 2
    top = pair if mid_y[pair] <= mid_y[pair + 2] else pair + 2
    # Walking the top edge clockwise goes left to right along the word, so it starts at the top-left.
    return np.roll(p, -top, axis=0).astype(np.float32)


def unclip(poly: np.ndarray, ratio: float = 1.5) -> np.ndarray:
    """Grow a polygon (N, 2) outward by D = A * ratio / L (A area, L perimeter), with rounded corners.

    Returns the largest resulting polygon, float32 (M, 2) in the input's frame; (0, 2) for a polygon
    without area.
    """
    if ratio <= 0:
        raise ValueError(f"unclip ratio must be positive, got {ratio}")
    area, length = polygon_area(poly), polygon_perimeter(poly)
    grown = offset_polygon(poly, area * ratio / length) if area > 0 else None
    return grown if grown is not None else np.zeros((0, 2), dtype=np.float32)


def _region_score(prob: np.ndarray, contour: np.ndarray) -> float:
    """Mean probability over a contour's filled region, computed within its bounding box."""
    x, y, w, h = cv2.boundingRect(contour)
    mask = np.zeros((h, w), dtype=np.uint8)
    cv2.fillPoly(mask, [contour.reshape(-1, 2) - np.array([x, y], dtype=np.int32)], 1)
    return float(prob[y : y + h, x : x + w][mask > 0].mean())


def _to_image(pts: np.ndarray, scale: tuple[float, float], image_size: tuple[int, int] | None) -> np.ndarray:
    out = pts.astype(np.float32) * np.asarray(scale, dtype=np.float32)
    if image_size is not None:
        # Pixel centres run from 0 to size - 1 in this frame.
        out = np.clip(out, 0, np.asarray(image_size, dtype=np.float32) - 1)
    return out


def boxes_from_prob(prob: np.ndarray, scale: tuple[float, float] = (1.0, 1.0), *, bin_thresh: float, box_thresh: float,
                    unclip_ratio: float, min_size: int = 3,
                    max_candidates: int = 10_000, polygons: bool = False,
                    image_size: tuple[int, int] | None = None) -> tuple[np.ndarray | list[np.ndarray], np.ndarray]:
    """A probability map (H, W) in [0, 1] -> (quads float32 (N, 4, 2), scores float32 (N,)).

    The thresholds have no defaults here: the tuned ones live in ``detector.config.DetectorSettings``.

    Each connected region of ``prob > bin_thresh`` (the ``max_candidates`` largest; a dense page of print
    holds 2,000 words, and DBNet's usual 1,000 in findContours order lost the top of such pages) is scored by its mean probability and dropped below ``box_thresh``; its min-area box is grown by
    ``unclip`` and dropped if the grown box's short side is under ``min_size + 2`` map pixels. Quads are
    in ``order_points`` order. Coordinates are map coordinates times ``scale`` = (sx, sy) = original
    size / map size, clipped to [0, width - 1] x [0, height - 1] when ``image_size`` = (width, height).

    With ``polygons=True`` the region's contour (simplified by approxPolyDP) is grown instead, and the
    first result is a list of float32 (M, 2) polygons, clockwise on screen from an arbitrary vertex.
    """
    prob = np.asarray(prob)
    if prob.ndim != 2:
        raise ValueError(f"expected a probability map of shape (H, W), got shape {prob.shape}")
    if len(scale) != 2 or min(scale) <= 0:
        raise ValueError(f"scale must be two positive factors (sx, sy), got {scale}")
    if image_size is not None and (len(image_size) != 2 or min(image_size) < 1):
        raise ValueError(f"image_size must be (width, height) of at least 1 px, got {image_size}")
    bitmap = (prob > bin_thresh).astype(np.uint8)
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) > max_candidates:
        areas = np.array([cv2.contourArea(c) for c in contours])
        contours = [contours[i] for i in sorted(np.argsort(-areas, kind="stable")[:max_candidates])]
    shapes: list[np.ndarray] = []
    scores: list[float] = []
    for contour in contours:
        score = _region_score(prob, contour)
        if score < box_thresh:
            continue
        if polygons:
            eps = 0.002 * cv2.arcLength(contour, True)
            source = cv2.approxPolyDP(contour, eps, True).reshape(-1, 2)
        else:
            source = cv2.boxPoints(cv2.minAreaRect(contour))
        if len(source) < 3:
            continue
        grown = unclip(source, unclip_ratio)
        if len(grown) < 3:
            continue
        rect = cv2.minAreaRect(grown)
        if min(rect[1]) < min_size + 2:
            continue
        if polygons:
            x, y = grown.T.astype(np.float64)
            signed = np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))
            shape = grown if signed > 0 else grown[::-1]  # positive with y down = clockwise on screen
        else:
            shape = order_points(cv2.boxPoints(rect))
        shapes.append(_to_image(shape, scale, image_size))
        scores.append(score)
    score_array = np.asarray(scores, dtype=np.float32).reshape(-1)
    if polygons:
        return shapes, score_array
    quads = np.stack(shapes) if shapes else np.zeros((0, 4, 2), dtype=np.float32)
    return quads.astype(np.float32), score_array
