"""DBNet training targets (Liao et al. 2020): the shrunk text map, the threshold map and their loss masks.

Pure numpy/OpenCV/pyclipper. A polygon is float (N, 2) of (x, y) pixel coordinates in the target map's
frame: x right, y down, and pixel (row r, column c) sits at the point (c, r), the convention that
cv2.fillPoly and cv2.findContours use. The polygon offsetting here is shared with ``postprocess.unclip``.
"""
from __future__ import annotations

import cv2
import numpy as np
import pyclipper

_SCALE = 256.0  # pyclipper works in integers: offset on a 1/256 px grid
_ARC_TOLERANCE = 0.05 * _SCALE  # round joins within 0.05 px of a true arc, without hundreds of vertices


def _check_polygon(poly: np.ndarray) -> np.ndarray:
    pts = np.asarray(poly, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise ValueError(f"expected a polygon of shape (N >= 3, 2), got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise ValueError("polygon has non-finite coordinates")
    return pts


def polygon_area(poly: np.ndarray) -> float:
    """Unsigned area of a simple polygon (N, 2) by the shoelace formula."""
    x, y = _check_polygon(poly).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def polygon_perimeter(poly: np.ndarray) -> float:
    """Length of a closed polygon's (N, 2) boundary."""
    pts = _check_polygon(poly)
    return float(np.hypot(*(np.roll(pts, -1, axis=0) - pts).T).sum())


def offset_polygon(poly: np.ndarray, distance: float) -> np.ndarray | None:
    """Offset a polygon (N, 2) by ``distance`` px: outward when positive, inward when negative.

    Convex corners of the grown side are rounded (pyclipper JT_ROUND). Returns the largest resulting
    polygon as float32 (M, 2) in the input's frame, or None when nothing with area is left.
    """
    pts = _check_polygon(poly)
    pco = pyclipper.PyclipperOffset(2.0, _ARC_TOLERANCE)
    pco.AddPath(np.round(pts * _SCALE).astype(np.int64).tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    paths = [np.asarray(p, dtype=np.float64) / _SCALE for p in pco.Execute(distance * _SCALE) if len(p) >= 3]
    if not paths:
        return None
    best = max(paths, key=polygon_area)
    return best.astype(np.float32) if polygon_area(best) > 0 else None


def shrink_distance(poly: np.ndarray, ratio: float = 0.4) -> float:
    """DBNet's offset D = A (1 - r^2) / L for a polygon (N, 2) of area A and perimeter L, in px."""
    if not 0 < ratio < 1:
        raise ValueError(f"shrink ratio must be in (0, 1), got {ratio}")
    length = polygon_perimeter(poly)
    return polygon_area(poly) * (1 - ratio**2) / length if length > 0 else 0.0


def shrink_polygon(poly: np.ndarray, ratio: float = 0.4) -> np.ndarray | None:
    """Offset a polygon (N, 2) inward by ``shrink_distance``: float32 (M, 2), or None if nothing is left.

    A convex polygon always survives (D <= 0.84 of its inradius at r = 0.4); None comes from degenerate
    input (zero area) or from pieces thinner than the 1/256 px grid.
    """
    d = shrink_distance(poly, ratio)
    return offset_polygon(poly, -d) if d > 0 else None


def _fill(canvas: np.ndarray, poly: np.ndarray, value: float) -> None:
    cv2.fillPoly(canvas, [np.round(poly).astype(np.int32)], value)


def _distance_to_border(points: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Euclidean distance of points (P, 2) to the nearest edge (segment) of a closed polygon (N, 2): (P,)."""
    best = np.full(len(points), np.inf)
    for a, b in zip(poly, np.roll(poly, -1, axis=0)):
        ab = b - a
        ap = points - a
        denom = float(ab @ ab)
        # Projection onto the segment, clamped to its ends; a zero-length edge is just its point.
        t = np.clip(ap @ ab / denom, 0.0, 1.0) if denom > 0 else np.zeros(len(points))
        np.minimum(best, np.hypot(ap[:, 0] - t * ab[0], ap[:, 1] - t * ab[1]), out=best)
    return best


def _draw_border(poly: np.ndarray, distance: float, border: np.ndarray, border_mask: np.ndarray) -> None:
    """Raise ``border`` to 1 - min(1, dist / D) inside the polygon dilated by D; mark the dilation in the mask."""
    dilated = offset_polygon(poly, distance)
    if dilated is None:
        return
    _fill(border_mask, dilated, 1.0)
    h, w = border.shape
    # Only the dilated polygon's bounding box (clipped to the map) can change.
    x0, y0 = np.clip(np.floor(dilated.min(axis=0)).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(dilated.max(axis=0)).astype(int), 0, [w - 1, h - 1])
    inside = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    _fill(inside, dilated - np.array([x0, y0], dtype=np.float32), 1)
    ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
    dist = _distance_to_border(np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64), poly)
    value = np.where(inside.ravel() > 0, 1.0 - np.minimum(1.0, dist / distance), 0.0).reshape(inside.shape)
    region = border[y0 : y1 + 1, x0 : x1 + 1]
    np.maximum(region, value.astype(np.float32), out=region)


def make_targets(polys: list[np.ndarray], ignore: list[bool], height: int, width: int, shrink_ratio: float = 0.4,
                 thresh_min: float = 0.3, thresh_max: float = 0.7, min_size: int = 3) -> dict[str, np.ndarray]:
    """Word polygons (each (N, 2), map frame) -> DBNet targets, each float32 (height, width).

    - "prob": 1 inside each word's shrunk polygon, else 0.
    - "prob_mask": 0 over ignored words, else 1. A word is ignored when marked (``###``), when its
      min-area rectangle's short side is below ``min_size`` px, or when it shrinks to nothing; an
      ignored word is zeroed over its whole original polygon and gets no positive pixels.
    - "thresh": thresh_min + v (thresh_max - thresh_min), where v = 1 - min(1, d / D) inside the word
      dilated by D (d: distance to the original polygon's nearest edge; D: ``shrink_distance``), the
      maximum where words overlap, and v = 0 elsewhere; so every value is in [thresh_min, thresh_max].
    - "thresh_mask": 1 inside the dilated polygons of words that are not ignored, else 0.

    Vertices are clamped to the map first, so a word cut by the map's edge is labelled as its visible
    part; a word wholly outside the map is skipped.
    """
    if len(polys) != len(ignore):
        raise ValueError(f"got {len(polys)} polygons but {len(ignore)} ignore flags")
    if height < 1 or width < 1:
        raise ValueError(f"target map must be at least 1x1, got {height}x{width}")
    if not 0 <= thresh_min <= thresh_max <= 1:
        raise ValueError(f"need 0 <= thresh_min <= thresh_max <= 1, got {thresh_min}, {thresh_max}")
    prob = np.zeros((height, width), dtype=np.float32)
    prob_mask = np.ones((height, width), dtype=np.float32)
    border = np.zeros((height, width), dtype=np.float32)  # v in [0, 1], rescaled at the end
    thresh_mask = np.zeros((height, width), dtype=np.float32)
    limit = np.array([width - 1, height - 1], dtype=np.float64)
    for poly, ignored in zip(polys, ignore):
        pts = _check_polygon(poly)
        if (pts.max(axis=0) < 0).any() or (pts.min(axis=0) > limit).any():
            continue
        pts = np.clip(pts, 0, limit)
        too_small = min(cv2.minAreaRect(pts.astype(np.float32))[1]) < min_size
        shrunk = None if ignored or too_small else shrink_polygon(pts, shrink_ratio)
        if shrunk is None:
            _fill(prob_mask, pts, 0.0)
            continue
        _fill(prob, shrunk, 1.0)
        _draw_border(pts, shrink_distance(pts, shrink_ratio), border, thresh_mask)
    thresh = (thresh_min + border * (thresh_max - thresh_min)).astype(np.float32)
    return {"prob": prob, "prob_mask": prob_mask, "thresh": thresh, "thresh_mask": thresh_mask}
