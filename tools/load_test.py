"""Load test for ocr-serve on this machine: N requests at concurrency C against a loopback server.

    ocr-serve --workers 2 --queue 8 &
    python tools/load_test.py --url http://127.0.0.1:8000 --images ../shared/data/icdar2015-train/images \\
        --requests 200 --concurrency 8 [--bad 50]

Sends the images (cycled, in order) as multipart uploads from C threads; with --bad N, N of the requests are
broken or oversized uploads mixed in, and every good answer must still be right: its record equals the one
the first, unloaded pass got for the same image (a 503 under overload is a refusal, counted, not an error).
Reports throughput, p50/p95/p99 latency of the answered good requests, counts by status, and the server's peak memory (from /healthz). Only loopback addresses are
accepted: this is a tool for measuring your own machine, not anyone else's.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
    except (socket.gaierror, ValueError):
        return False


def bad_upload(k: int) -> tuple[str, bytes]:
    """A broken or oversized upload: every kind in turn."""
    kinds = [("broken.jpg", b"\xff\xd8 not really a jpeg"), ("empty.png", b""),
             ("huge.bin", b"\0" * (21 * 2**20)), ("text.png", b"hello")]
    return kinds[k % len(kinds)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--images", required=True, help="folder of images to send")
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--bad", type=int, default=0, help="how many of the requests are broken or oversized uploads")
    p.add_argument("--token", help="bearer token, if the server wants one")
    p.add_argument("--timeout", type=float, default=120.0)
    a = p.parse_args(argv)
    if not loopback(a.url):
        p.error(f"{a.url}: not a loopback address; this tool only loads a server on this machine")
    files = sorted(f for f in Path(a.images).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not files or a.requests < 1 or a.concurrency < 1 or not 0 <= a.bad < a.requests:
        p.error("need images, --requests >= 1, --concurrency >= 1 and 0 <= --bad < --requests")
    headers = {"Authorization": f"Bearer {a.token}"} if a.token else {}
    client = httpx.Client(timeout=a.timeout, headers=headers)
    good = a.requests - a.bad
    used = [files[i % len(files)] for i in range(good)]
    # The reference: each distinct image once, one at a time.
    reference = {}
    for f in dict.fromkeys(used):
        r = client.post(f"{a.url}/v1/ocr", files={"file": (f.name, f.read_bytes())})
        r.raise_for_status()
        reference[f.name] = {k: v for k, v in r.json().items() if k != "seconds"}
    jobs = [("good", f.name, f.read_bytes()) for f in used] + [("bad", *bad_upload(k)) for k in range(a.bad)]
    order = np.random.default_rng(0).permutation(len(jobs))  # bad requests spread among the good ones
    jobs = [jobs[i] for i in order]
    statuses, latencies, wrong = Counter(), [], []
    lock, cursor = threading.Lock(), iter(range(len(jobs)))

    def worker():
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            kind, name, data = jobs[i]
            start = time.perf_counter()
            try:
                r = client.post(f"{a.url}/v1/ocr", files={"file": (name, data)})
                status = r.status_code
            except httpx.HTTPError as e:
                status = f"error {e.__class__.__name__}"
                r = None
            seconds = time.perf_counter() - start
            with lock:
                statuses[(kind, status)] += 1
                if kind == "good" and status == 200:
                    latencies.append(seconds)
                    if {k: v for k, v in r.json().items() if k != "seconds"} != reference[name]:
                        wrong.append((name, status))
                elif kind == "good" and status != 503:  # 503 is the answer to overload: refused, not wrong
                    wrong.append((name, status))

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    health = client.get(f"{a.url}/healthz").json()
    lat = np.array(latencies or [0.0]) * 1000
    report = {"requests": a.requests, "good": good, "bad": a.bad, "concurrency": a.concurrency,
              "seconds": round(elapsed, 2), "answered_per_s": round(len(latencies) / elapsed, 2),
              "latency_ms": {q: round(float(np.percentile(lat, int(q[1:]))), 1) for q in ("p50", "p95", "p99")},
              "statuses": {f"{k} {s}": n for (k, s), n in sorted(statuses.items(), key=str)},
              "good_answered_wrong": len(wrong), "server_peak_rss_mb": health.get("peak_rss_mb")}
    print(json.dumps(report, indent=1))
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
