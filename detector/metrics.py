"""Text detection metrics: the ICDAR 2015 protocol (IoU matching with don't-care regions).

Polygons are (N, 2) arrays of (x, y) in one image's pixel frame; a (M, 4, 2) array of quads works
wherever a sequence of polygons is expected. Differences from the official script, on purpose: pairs
are matched greedily by descending IoU (the script takes the first pair in file order) and a pair
matches at IoU >= iou_thresh (the script uses >).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon


def _to_polygon(points: np.ndarray) -> Polygon:
    """(N, 2) points -> a valid shapely polygon; fewer than 3 points give an empty one (area 0)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(pts).all():
        raise ValueError(f"polygon has non-finite coordinates: {pts.tolist()}")
    if len(pts) < 3:
        return Polygon()
    poly = Polygon(pts)
    # A self-intersecting outline (a "bow tie" from a bad detection) has no well-defined area until repaired.
    return poly if poly.is_valid else poly.buffer(0)


def _polygons(polys: Sequence[np.ndarray]) -> np.ndarray:
    """A sequence of (N, 2) polygons -> a 1-D object array of shapely polygons (for vectorised ops)."""
    out = np.empty(len(polys), dtype=object)
    for i, p in enumerate(polys):
        out[i] = _to_polygon(p)
    return out


def polygon_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (N, 2) polygons; 0.0 when either has zero area."""
    pa, pb = _to_polygon(a), _to_polygon(b)
    if pa.area == 0 or pb.area == 0:
        return 0.0
    inter = pa.intersection(pb).area
    return float(inter / (pa.area + pb.area - inter))


def match_image(
    gt_polys: Sequence[np.ndarray],
    gt_ignore: Sequence[bool],
    det_polys: Sequence[np.ndarray],
    iou_thresh: float = 0.5,
    dont_care_overlap: float = 0.5,
    allowed: np.ndarray | None = None,
) -> tuple[int, int, int]:
    """Match one image's detections to its ground truth; returns (matched, num_gt_cared, num_det_cared).

    ``allowed`` (G, D) bool, when given, limits which pairs may match at all: end-to-end evaluation
    passes "the texts agree" here, so a well-placed box with a wrong reading is a false positive.

    A detection whose area lies mostly inside a don't-care gt (intersection / detection area >
    dont_care_overlap) is dropped from counting: neither a hit nor a false positive. The rest are matched
    one-to-one with the cared gts, greedily by descending IoU; a pair counts when IoU >= iou_thresh.
    """
    if len(gt_polys) != len(gt_ignore):
        raise ValueError(f"{len(gt_polys)} gt polygons but {len(gt_ignore)} ignore flags")
    gts, dets = _polygons(gt_polys), _polygons(det_polys)
    ignore = np.asarray(gt_ignore, dtype=bool).reshape(-1)
    if len(gts) == 0 or len(dets) == 0:
        return 0, int((~ignore).sum()), len(dets)
    gt_area, det_area = shapely.area(gts), shapely.area(dets)
    inter = shapely.area(shapely.intersection(gts[:, None], dets[None, :]))  # (G, D)

    det_cared = np.ones(len(dets), dtype=bool)
    if ignore.any():
        # A zero-area detection cannot lie inside anything: it stays a false positive, as in the script.
        share = np.divide(inter[ignore], det_area[None, :], out=np.zeros_like(inter[ignore]),
                          where=det_area[None, :] > 0)
        det_cared = ~(share > dont_care_overlap).any(axis=0)

    union = gt_area[:, None] + det_area[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    iou[ignore, :] = -1.0  # don't-care gts and dropped detections never enter matching
    iou[:, ~det_cared] = -1.0
    if allowed is not None:
        iou[~np.asarray(allowed, dtype=bool).reshape(len(gts), len(dets))] = -1.0
    gi, di = np.nonzero(iou >= iou_thresh)
    order = np.lexsort((di, gi, -iou[gi, di]))  # IoU descending; ties by gt, then det index (deterministic)
    used_gt, used_det = set(), set()
    for g, d in zip(gi[order].tolist(), di[order].tolist()):
        if g not in used_gt and d not in used_det:
            used_gt.add(g)
            used_det.add(d)
    return len(used_gt), int((~ignore).sum()), int(det_cared.sum())


@dataclass
class DetectionScore:
    """Precision, recall and hmean accumulated over images (counts are summed, then divided).

    With no cared gts and no cared detections at all, precision = recall = 1 (nothing to find, nothing
    wrong); with gts but no detections precision is 0; with detections but no gts recall is 1.
    """

    iou_thresh: float = 0.5
    dont_care_overlap: float = 0.5
    matched: int = 0
    num_gt: int = 0
    num_det: int = 0
    images: int = 0

    def add(
        self, gt_polys: Sequence[np.ndarray], gt_ignore: Sequence[bool], det_polys: Sequence[np.ndarray],
        allowed: np.ndarray | None = None,
    ) -> tuple[int, int, int]:
        """Score one image and add it to the totals; returns that image's (matched, num_gt, num_det)."""
        counts = match_image(gt_polys, gt_ignore, det_polys, self.iou_thresh, self.dont_care_overlap, allowed)
        self.matched += counts[0]
        self.num_gt += counts[1]
        self.num_det += counts[2]
        self.images += 1
        return counts

    @property
    def precision(self) -> float:
        if self.num_det == 0:
            return 1.0 if self.num_gt == 0 else 0.0
        return self.matched / self.num_det

    @property
    def recall(self) -> float:
        return 1.0 if self.num_gt == 0 else self.matched / self.num_gt

    @property
    def hmean(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def as_dict(self) -> dict:
        """{precision, recall, hmean, matched, num_gt, num_det, images}: floats then int counts."""
        return {"precision": self.precision, "recall": self.recall, "hmean": self.hmean,
                "matched": self.matched, "num_gt": self.num_gt, "num_det": self.num_det, "images": self.images}
