"""ocr-serve: the engine behind HTTP, with a web page. Models load once, at start-up.

    ocr-serve                                   # http://127.0.0.1:8000/ (the page), /v1/ocr (the API)
    ocr-serve --host 0.0.0.0 --port 8080 --token "$SECRET" --workers 2
    curl -F file=@photo.jpg http://127.0.0.1:8000/v1/ocr
    curl --data-binary @word.png "http://127.0.0.1:8000/v1/ocr?mode=crop&model=words"

Endpoints: POST /v1/ocr (an image as multipart field 'file' or as the raw body; query mode=detect|crop,
model, min_confidence; answers ocr-run --json's record), POST /v1/ocr/annotated (the annotated PNG),
GET /v1/models, GET /healthz, GET / (the page).

Safe by default: it binds 127.0.0.1; with --token (or OCR_SERVE_TOKEN) every /v1 request needs
'Authorization: Bearer TOKEN' (401); bodies over --max-mb get 413 before they are read whole; images whose
header declares more than --max-pixels get 422 before decoding, broken ones 422 with the reason; an unknown
model 404. Nothing the client sends becomes a file path: models are picked by name from /v1/models.
Inference runs off the event loop in --workers threads; --queue more requests may wait, beyond that 503 with
Retry-After; a request over --timeout seconds gets 504. Ctrl-C or SIGTERM finishes the requests in flight.
Needs the [serve] extra: pip install 'crnn-ocr[serve]'.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps threads fast beside other work

import argparse
import logging
import sys
from dataclasses import dataclass, replace

from .config import ConfigError, PipelineConfig, load_config



@dataclass(frozen=True)
class ServeSettings:
    workers: int = max(1, os.cpu_count() or 1)  # inference threads
    queue: int = 8  # requests that may wait for a thread; more get 503
    timeout: float = 60.0  # seconds per request before 504
    max_bytes: int = 20 * 2**20  # request bodies over this get 413
    max_pixels: int = 50_000_000  # images whose header declares more get 422, undecoded
    token: str | None = None  # bearer token every /v1 request must carry


class Models:
    """The pipelines the service offers, built once: per (mode, recognizer name). Only names it lists are
    ever loaded; a client's string never reaches the file system."""

    def __init__(self, cfg: PipelineConfig, build=None, threads: int | None = None):
        from recognizer.checkpoint import shipped_models

        from .pipeline import Pipeline

        self.cfg = cfg
        self.names = sorted(set(shipped_models()) | {cfg.recognizer.model})
        self._build = build or (lambda mode, name: Pipeline.from_config(
            replace(cfg, recognizer=replace(cfg.recognizer, model=name)), detect=mode == "detect", threads=threads))
        self._pipelines = {("detect", cfg.recognizer.model): self._build("detect", cfg.recognizer.model),
                           ("crop", cfg.recognizer.model): self._build("crop", cfg.recognizer.model)}

    def get(self, mode: str, name: str | None):
        """The pipeline for a mode and a listed recognizer; KeyError for a name not listed."""
        name = name or self.cfg.recognizer.model
        if name not in self.names:
            raise KeyError(name)
        if (mode, name) not in self._pipelines:  # built on first use, then kept (the GIL makes this safe enough:
            self._pipelines[(mode, name)] = self._build(mode, name)  # at worst two threads build it once each)
        return self._pipelines[(mode, name)]

    def describe(self) -> list[dict]:
        """Each offered model with a one-line summary (a shipped model's, or the start of its training notes)."""
        if not hasattr(self, "_described"):
            import torch

            from recognizer.checkpoint import resolve_weights

            out = []
            for name in self.names:
                summary = SUMMARIES.get(name)
                if summary is None:
                    try:
                        ckpt = torch.load(resolve_weights(name), map_location="cpu", weights_only=True)
                        summary = str(ckpt.get("summary", {}).get("training", ""))[:160]
                    except (OSError, ValueError, RuntimeError):
                        summary = ""
                out.append({"name": name, "kind": "recognizer", "default": name == self.cfg.recognizer.model,
                            "summary": summary})
            out.append({"name": self.cfg.detector.model, "kind": "detector", "default": True,
                        "summary": SUMMARIES.get(self.cfg.detector.model, "")})
            self._described = out
        return self._described


# One line per shipped model; MODELS.md holds the whole cards.
SUMMARIES = {
    "words": "Scene-text and printed word crops: letters of both cases, digits, punctuation (83 symbols).",
    "captcha": "Captchas of the captcha package's default style: 4 to 6 characters of 0-9a-z.",
    "captcha-v2": "The public 'captcha version 2' style: 5 characters of 2345678bcdefgmnpwxy.",
    "db": "DBNet word detector for photos (ICDAR 2015 held-out H-mean 0.67).",
}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="ocr-serve", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="a YAML file overriding any subset of pipeline.yaml")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=ServeSettings.workers, help="inference threads (default: the cores)")
    p.add_argument("--queue", type=int, default=ServeSettings.queue, help="requests that may wait (default 8)")
    p.add_argument("--timeout", type=float, default=ServeSettings.timeout, help="seconds per request (default 60)")
    p.add_argument("--max-mb", type=float, default=ServeSettings.max_bytes / 2**20, help="largest body in MB (20)")
    p.add_argument("--max-pixels", type=int, default=ServeSettings.max_pixels, help="largest image (50,000,000)")
    p.add_argument("--token", default=os.environ.get("OCR_SERVE_TOKEN"),
                   help="bearer token /v1 requests must carry (default: $OCR_SERVE_TOKEN; none: open)")
    p.add_argument("--model", help="default recognizer: a shipped name or a .pt file")
    p.add_argument("--detector", help="detector: a shipped name or a .pt file")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        print("error: ocr-serve needs the serve extra: pip install 'crnn-ocr[serve]'", file=sys.stderr)
        return 2
    if a.workers < 1 or a.queue < 0 or a.timeout <= 0 or a.max_mb <= 0 or a.max_pixels < 1:
        print("error: --workers >= 1, --queue >= 0, and positive --timeout, --max-mb, --max-pixels", file=sys.stderr)
        return 2
    overrides: dict = {"detector": {"model": a.detector} if a.detector else {},
                       "recognizer": {"model": a.model} if a.model else {}}
    if a.device:
        overrides["device"] = a.device
    try:
        cfg = load_config(a.config, overrides)
        threads = max(1, (os.cpu_count() or 1) // a.workers)  # the pool's threads share the cores
        from .pipeline import choose_backend

        if choose_backend(cfg, detect=True) == "torch":
            import torch

            torch.set_num_threads(threads)
        models = Models(cfg, threads=threads)
    except ConfigError as e:
        print(f"error: config: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    settings = ServeSettings(workers=a.workers, queue=a.queue, timeout=a.timeout, max_bytes=int(a.max_mb * 2**20),
                             max_pixels=a.max_pixels, token=a.token or None)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from .app import create_app

    app = create_app(models, settings)
    if a.host not in ("127.0.0.1", "localhost", "::1") and settings.token is None:
        print(f"warning: serving on {a.host} without a token: anyone who reaches it may use it", file=sys.stderr)
    uvicorn.run(app, host=a.host, port=a.port, access_log=False, timeout_graceful_shutdown=30, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
