"""Reading order on true word boxes: how many of a page's text lines `ocr.layout.reading_order` groups and
orders exactly, per layout, with no detector or recognizer in the way.

    python tools/make_pages.py --out data/pages -n 36 --clean --seed 11
    python tools/eval_layout.py data/pages/labels.jsonl

Each labels.jsonl record (from tools/make_pages.py) holds the page's words with their boxes and its lines in
reading order; a line counts when the words `reading_order` puts together, joined by spaces, are one of them.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocr.layout import reading_order  # noqa: E402


def line_hits(record: dict) -> tuple[int, int]:
    """(lines read exactly, lines) of one page."""
    quads = np.array([w["points"] for w in record["words"]], np.float64).reshape(-1, 4, 2)
    texts = [w["text"] for w in record["words"]]
    read = Counter(" ".join(texts[i] for i in line) for line in reading_order(quads))
    truth = Counter(record["lines"])
    return sum(min(read[line], n) for line, n in truth.items()), sum(truth.values())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("labels", nargs="+", type=Path, help="labels.jsonl file(s) of tools/make_pages.py")
    a = p.parse_args(argv)
    for labels in a.labels:
        per_layout: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in labels.read_text().splitlines():
            record = json.loads(row)
            hits, total = line_hits(record)
            per_layout[record.get("layout", "page")][0] += hits
            per_layout[record.get("layout", "page")][1] += total
        hits, total = (sum(v[i] for v in per_layout.values()) for i in (0, 1))
        layouts = ", ".join(f"{name} {h / t:.3f}" for name, (h, t) in sorted(per_layout.items()) if t)
        print(f"{labels}: lines exact {hits / max(total, 1):.3f} of {total} ({layouts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
