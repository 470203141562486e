"""RapidOCR (PP-OCRv6 small) on a folder, for speed comparisons: photos (detect + recognize) or crops (recognize only).

Run it in a virtual environment of its own (its models ship inside the wheel), timed as a whole process:

    python3 -m venv /tmp/rapid && /tmp/rapid/bin/pip install rapidocr==3.10.0 onnxruntime
    /usr/bin/time /tmp/rapid/bin/python tools/bench_rapidocr.py photos DIR
    /usr/bin/time /tmp/rapid/bin/python tools/bench_rapidocr.py crops DIR
"""
import sys
import time
from pathlib import Path

from rapidocr import RapidOCR

mode, folder = sys.argv[1], sys.argv[2]
engine = RapidOCR()
files = sorted(p for p in Path(folder).iterdir())
start, words = time.perf_counter(), 0
for f in files:
    if mode == "photos":
        r = engine(str(f))
    else:
        r = engine(str(f), use_det=False, use_cls=False, use_rec=True)
    words += len(r.txts or ()) if r is not None and getattr(r, "txts", None) is not None else 0
print(f"{len(files)} {mode}, {words} words, {time.perf_counter() - start:.1f} s after load", file=sys.stderr)
