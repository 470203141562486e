"""Recognition metrics on (prediction, ground truth) string pairs."""
from __future__ import annotations

from collections import Counter


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def fold_text(text: str) -> str:
    """The scene-text benchmarks' comparison form: lower case, letters and digits only."""
    return "".join(c for c in text.lower() if c.isalnum())


def text_metrics(predictions: list[str], truths: list[str]) -> dict:
    """Sequence accuracy, character accuracy (1 - CER) and mean normalized edit distance.

    CER = total edit distance / total ground-truth characters (may exceed 1, so char accuracy may be
    negative); the normalized edit distance of a pair is its distance over the longer string's length.
    """
    if len(predictions) != len(truths):
        raise ValueError(f"{len(predictions)} predictions for {len(truths)} ground truths")
    n = len(truths)
    if n == 0:
        return {"count": 0, "seq_acc": 0.0, "char_acc": 0.0, "norm_ed": 0.0}
    dists = [edit_distance(p, t) for p, t in zip(predictions, truths)]
    chars = sum(len(t) for t in truths)
    return {
        "count": n,
        "seq_acc": sum(p == t for p, t in zip(predictions, truths)) / n,
        "char_acc": 1.0 - sum(dists) / max(chars, 1),
        "norm_ed": sum(d / max(len(p), len(t), 1) for d, p, t in zip(dists, predictions, truths)) / n,
    }


def confusions(predictions: list[str], truths: list[str]) -> Counter:
    """How often each truth character was read as another: ``(truth, read)`` pairs from an edit-distance
    alignment, ``""`` standing for a missed (truth, "") or an extra ("", read) character."""
    counts: Counter = Counter()
    for p, t in zip(predictions, truths):
        # table[i][j]: distance between t[:i] and p[:j]; then walk back from the end.
        table = [[i + j if i == 0 or j == 0 else 0 for j in range(len(p) + 1)] for i in range(len(t) + 1)]
        for i in range(1, len(t) + 1):
            for j in range(1, len(p) + 1):
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (t[i - 1] != p[j - 1]))
        i, j = len(t), len(p)
        while i or j:
            if i and j and table[i][j] == table[i - 1][j - 1] + (t[i - 1] != p[j - 1]):
                if t[i - 1] != p[j - 1]:
                    counts[(t[i - 1], p[j - 1])] += 1
                i, j = i - 1, j - 1
            elif i and table[i][j] == table[i - 1][j] + 1:
                counts[(t[i - 1], "")] += 1
                i -= 1
            else:
                counts[("", p[j - 1])] += 1
                j -= 1
    return counts
