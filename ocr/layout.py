"""Reading order: words -> text lines -> lines in the order a person reads them, columns kept apart. Torch-free.

Words join a line when their centres sit at the same height and they are close along it, so two columns side
by side give two sets of lines. A column of lone right-aligned values (a receipt's prices) is the exception:
each value joins the line at its height on its left. Lines are then ordered by recursive XY cuts: split the set at its widest empty
band, a vertical one (between columns) when it is clearly wider than the widest horizontal one (between lines)
and leaves at least two lines on each side, and read the parts in order: top to bottom, left to right.
"""
from __future__ import annotations

import bisect

import numpy as np

WORD_GAP = 2.5  # words further apart than this many line heights do not share a line (column gaps are wider)
VALUE_RUN = 3  # lone words whose right edges line up, this many rows in a row, are a column of values
COLUMN_GAP = 1.5  # a vertical cut must be this much wider than the widest horizontal one (and a line height)


def _lines(q: np.ndarray) -> list[list[int]]:
    """Words (N, 4, 2) grouped into lines, each left to right.

    A sweep from the left: each word joins the open line whose last word sits nearest its height (within half
    the line's height) and ends close before it, else starts a line. Comparing with the last word, not the
    line's mean, follows lines that slope (a skewed scan), and a line can start anywhere along it: words that
    stand a little higher or lower (``of`` beside ``days``) no longer split a line they came to first.
    """
    centre_y = q[:, :, 1].mean(axis=1).tolist()
    height = (q[:, :, 1].max(axis=1) - q[:, :, 1].min(axis=1)).tolist()
    x0, x1 = q[:, :, 0].min(axis=1).tolist(), q[:, :, 0].max(axis=1).tolist()
    reach = WORD_GAP * max(height)
    # Each line: [members, sorted heights, last word's centre, rightmost x1]. Words come by x0, so a line that
    # ends more than WORD_GAP of the tallest word's height before the current word can take no more words: it
    # leaves the open list (a page of 2,000 words stays fast).
    lines: list[list] = []
    open_lines: list[list] = []
    for i in np.lexsort((np.asarray(centre_y), np.asarray(x0))).tolist():
        open_lines = [line for line in open_lines if x0[i] - line[3] <= reach]
        best, best_offset = None, None
        for line in open_lines:
            _, heights, last_centre, right = line
            line_height = max(_median(heights), height[i])
            offset = abs(centre_y[i] - last_centre)
            if (offset <= 0.5 * line_height and x0[i] - right <= WORD_GAP * line_height
                    and (best is None or offset < best_offset)):
                best, best_offset = line, offset
        if best is None:
            best = [[], [], 0.0, x1[i]]
            lines.append(best)
            open_lines.append(best)
        best[0].append(i)
        bisect.insort(best[1], height[i])
        best[2], best[3] = centre_y[i], max(best[3], x1[i])
    return [line[0] for line in lines]


def _join_values(q: np.ndarray, lines: list[list[int]]) -> list[list[int]]:
    """Lines with a right-aligned value joined: ``item ... 12.50`` on a receipt or price list is one line.

    A value is a one-word line whose right edge lines up (within half a line height) with those of one-word
    lines above or below it (within three line heights), VALUE_RUN at least in a run, and whose left edges do
    not all line up (values differ in width; a column of one-word lines is a column). A column of prose ends
    ragged, so its short last lines do not line up. Each value joins the nearest line on its left at its height.
    """
    x0 = np.array([q[line, :, 0].min() for line in lines])
    x1 = np.array([q[line, :, 0].max() for line in lines])
    cy = np.array([q[line, :, 1].mean() for line in lines])
    h = np.array([np.median(q[line, :, 1].max(axis=1) - q[line, :, 1].min(axis=1)) for line in lines])
    lone = sorted((k for k, line in enumerate(lines) if len(line) == 1), key=lambda k: cy[k])
    run = {k: k for k in lone}  # each one-word line's run: that of the nearest one above ending at the same x
    for n, a in enumerate(lone):
        for b in lone[n + 1:]:
            if cy[b] - cy[a] > 3 * max(h[a], h[b]):
                break
            if abs(x1[a] - x1[b]) <= 0.5 * max(h[a], h[b]) and run[b] == b:
                run[b] = run[a]
                break
    left_edges: dict[int, list[float]] = {}  # of each run's lines
    for k in lone:
        left_edges.setdefault(run[k], []).append(x0[k])
    values = [k for k in lone if len(left_edges[run[k]]) >= VALUE_RUN and np.ptp(left_edges[run[k]]) > 0.5 * h[k]]
    joined: dict[int, int] = {}  # line on the left -> its value
    for value in values:
        left = [k for k in range(len(lines)) if k != value and k not in joined and x1[k] < x0[value]
                and abs(cy[k] - cy[value]) <= 0.5 * h[value]]
        if left:
            joined[max(left, key=lambda k: x1[k])] = value
    rows, taken = [], set(joined.values())
    for k in (k for k in range(len(lines)) if k not in taken):
        row = list(lines[k])
        while k in joined:  # a value may have a value of its own: quantity, then price
            k = joined[k]
            row += lines[k]
        rows.append(row)
    return rows


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
    lines = _join_values(q, _lines(q))
    boxes = np.array([[q[line, :, 0].min(), q[line, :, 1].min(), q[line, :, 0].max(), q[line, :, 1].max()]
                      for line in lines])
    line_height = float(np.median(boxes[:, 3] - boxes[:, 1]))
    return [lines[k] for k in _xy_cut(list(range(len(lines))), boxes, line_height)]
