"""Reading order: words -> text lines -> lines in the order a person reads them, columns kept apart. Torch-free.

Words join a line when their centres sit at the same height and they are close along it, so two columns side
by side give two sets of lines. Lines are then ordered by recursive XY cuts: split the set at its widest empty
band, a vertical one (between columns) when it is clearly wider than the widest horizontal one (between lines)
and leaves at least two lines on each side, and read the parts in order: top to bottom, left to right.
"""
from __future__ import annotations

import bisect

import numpy as np

WORD_GAP = 2.5  # words further apart than this many line heights do not share a line (column gaps are wider)
COLUMN_GAP = 1.5  # a vertical cut must be this much wider than the widest horizontal one (and a line height)


def _lines(q: np.ndarray) -> list[list[int]]:
    """Words (N, 4, 2) grouped into lines, each left to right."""
    centre_y = q[:, :, 1].mean(axis=1).tolist()
    height = (q[:, :, 1].max(axis=1) - q[:, :, 1].min(axis=1)).tolist()
    x0, x1 = q[:, :, 0].min(axis=1).tolist(), q[:, :, 0].max(axis=1).tolist()
    tallest = max(height)
    # Each line: [members, sorted heights, sum of centres, leftmost x0, rightmost x1]. Words come by height on
    # the page, so a line whose centre lies more than half the tallest word's height above the current word
    # can take no more words: it leaves the open list (a page of 2,000 words stays fast).
    lines: list[list] = []
    open_lines: list[list] = []
    for i in np.lexsort((np.asarray(x0), np.asarray(centre_y))).tolist():
        open_lines = [line for line in open_lines if centre_y[i] - line[2] / len(line[0]) <= 0.5 * tallest]
        for line in open_lines:
            members, heights, total, left, right = line
            line_height = max(_median(heights), height[i])
            gap = max(0.0, max(x0[i] - right, left - x1[i]))
            if abs(centre_y[i] - total / len(members)) <= 0.5 * line_height and gap <= WORD_GAP * line_height:
                members.append(i)
                bisect.insort(heights, height[i])
                line[2], line[3], line[4] = total + centre_y[i], min(left, x0[i]), max(right, x1[i])
                break
        else:
            line = [[i], [height[i]], centre_y[i], x0[i], x1[i]]
            lines.append(line)
            open_lines.append(line)
    return [sorted(line[0], key=lambda i: x0[i]) for line in lines]


def _median(sorted_values: list[float]) -> float:
    n = len(sorted_values)
    return sorted_values[n // 2] if n % 2 else (sorted_values[n // 2 - 1] + sorted_values[n // 2]) / 2


def _widest_gap(lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    """(width, position) of the widest empty band between intervals [lo, hi] along one axis; width 0 if none."""
    order = np.argsort(lo, kind="stable")
    best, where, reach = 0.0, 0.0, hi[order[0]]
    for i in order[1:]:
        if lo[i] - reach > best:
            best, where = float(lo[i] - reach), float((lo[i] + reach) / 2)
        reach = max(reach, hi[i])
    return best, where


def _xy_cut(ids: list[int], boxes: np.ndarray, line_height: float) -> list[int]:
    if len(ids) <= 1:
        return ids
    b = boxes[ids]
    h_gap, h_at = _widest_gap(b[:, 1], b[:, 3])
    v_gap, v_at = _widest_gap(b[:, 0], b[:, 2])
    columns = [[i for i in ids if boxes[i, 2] <= v_at], [i for i in ids if boxes[i, 2] > v_at]]
    if v_gap > max(COLUMN_GAP * h_gap, line_height) and min(map(len, columns)) >= 2:  # columns hold lines
        parts = columns
    elif h_gap > 0:
        parts = [[i for i in ids if boxes[i, 3] <= h_at], [i for i in ids if boxes[i, 3] > h_at]]
    elif v_gap > 0:
        parts = columns
    else:  # lines that overlap both ways: by height, then from the left
        return sorted(ids, key=lambda i: ((boxes[i, 1] + boxes[i, 3]) / 2, boxes[i, 0]))
    return [i for part in parts for i in _xy_cut(part, boxes, line_height)]


def reading_order(quads: np.ndarray) -> list[list[int]]:
    """Indices of ``quads`` (N, 4, 2) grouped into text lines (each left to right), in reading order."""
    q = np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2)
    if not len(q):
        return []
    lines = _lines(q)
    boxes = np.array([[q[line, :, 0].min(), q[line, :, 1].min(), q[line, :, 0].max(), q[line, :, 1].max()]
                      for line in lines])
    line_height = float(np.median(boxes[:, 3] - boxes[:, 1]))
    return [lines[k] for k in _xy_cut(list(range(len(lines))), boxes, line_height)]
