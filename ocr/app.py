"""The ocr-serve app (FastAPI): routes, limits, the inference pool and the access log. See ``ocr.serve``."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from PIL import Image
from starlette.formparsers import MultiPartParser

from engine.images import load_image

from .draw import draw_words
from .serve import Models, ServeSettings

PAGE = Path(__file__).parent / "static" / "index.html"
MODES = ("detect", "crop")
log = logging.getLogger("ocr.serve")


class HTTPError(Exception):
    def __init__(self, status: int, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def create_app(models: Models, settings: ServeSettings):
    """The FastAPI app: routes, limits, the inference pool and the access log."""
    app = FastAPI(title="ocr-serve", docs_url=None, redoc_url=None)
    pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="ocr")
    state = {"pending": 0}

    @app.middleware("http")
    async def guard_and_log(request: Request, call_next):
        start = time.perf_counter()
        try:
            if request.url.path.startswith("/v1/") and settings.token is not None:
                if request.headers.get("authorization") != f"Bearer {settings.token}":
                    raise HTTPError(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
            response = await call_next(request)
        except HTTPError as e:
            response = JSONResponse({"detail": e.detail}, e.status, e.headers)
        log.info(json.dumps({"method": request.method, "path": request.url.path, "status": response.status_code,
                             "ms": round(1000 * (time.perf_counter() - start), 1),
                             "client": request.client.host if request.client else None}))
        return response

    @app.exception_handler(HTTPError)
    async def http_error(_request, e: HTTPError):
        return JSONResponse({"detail": e.detail}, e.status, e.headers)

    async def read_body(request: Request) -> bytes:
        """The whole body, refused with 413 as soon as it is known to be over the limit."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_bytes:
            raise HTTPError(413, f"request body of {int(declared):,} bytes is over the limit of {settings.max_bytes:,}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_bytes:
                raise HTTPError(413, f"request body is over the limit of {settings.max_bytes:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def upload(request: Request) -> tuple[str, bytes]:
        """(file name, image bytes) from a multipart field 'file' or from the raw body."""
        body = await read_body(request)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async def stream():
                yield body

            try:
                form = await MultiPartParser(request.headers, stream()).parse()
            except Exception as e:  # a malformed multipart body
                raise HTTPError(422, f"malformed multipart body ({e.__class__.__name__})") from None
            item = form.get("file")
            if item is None or isinstance(item, str):
                raise HTTPError(422, "multipart body without a file field named 'file'")
            return item.filename or "upload", await item.read()
        return "upload", body

    async def run(request: Request, mode: str, model: str | None, min_confidence: float | None):
        if mode not in MODES:
            raise HTTPError(422, f"mode must be detect or crop, got {mode!r}")
        if min_confidence is not None and not 0 <= min_confidence <= 1:
            raise HTTPError(422, f"min_confidence must be from 0 to 1, got {min_confidence}")
        try:
            pipeline = models.get(mode, model)
        except KeyError:
            raise HTTPError(404, f"no model named {model!r} (see /v1/models)") from None
        if state["pending"] >= settings.workers + settings.queue:
            raise HTTPError(503, "busy: every inference thread and queue place is taken", {"Retry-After": "1"})
        state["pending"] += 1  # the place is taken from here, while the body arrives, until the answer
        try:
            name, data = await upload(request)
            if not data:
                raise HTTPError(422, "empty body: send an image as multipart field 'file' or as the raw body")

            def work():
                start = time.perf_counter()
                image = load_image(io.BytesIO(data), max_pixels=settings.max_pixels, name=name)
                result = pipeline.read_batch([image], min_confidence)[0]
                return name, image, result, time.perf_counter() - start

            future = asyncio.get_running_loop().run_in_executor(pool, work)
            return await asyncio.wait_for(future, settings.timeout)
        except ValueError as e:  # unreadable, or TooLarge: declared over the pixel limit
            raise HTTPError(422, str(e)) from None
        except asyncio.TimeoutError:
            raise HTTPError(504, f"no result within {settings.timeout:g} s") from None
        finally:
            state["pending"] -= 1

    @app.post("/v1/ocr")
    async def ocr(request: Request, mode: str = "detect", model: str | None = None,
                  min_confidence: float | None = None):
        name, _, result, seconds = await run(request, mode, model, min_confidence)
        return {"image": name, **result.to_dict(), "seconds": round(seconds, 4)}

    @app.post("/v1/ocr/annotated")
    async def annotated(request: Request, mode: str = "detect", model: str | None = None,
                        min_confidence: float | None = None):
        _, image, result, _ = await run(request, mode, model, min_confidence)
        drawn = draw_words(image, [(w.points, w.text) for w in result.words], models.cfg.draw.line_width,
                           models.cfg.draw.font_size)
        buffer = io.BytesIO()
        Image.fromarray(drawn).save(buffer, format="PNG")
        return Response(buffer.getvalue(), media_type="image/png")

    @app.get("/v1/models")
    async def list_models():
        return {"models": models.describe()}

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "pending": state["pending"], "workers": settings.workers,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}

    @app.get("/", response_class=HTMLResponse)
    async def page():
        return PAGE.read_text(encoding="utf-8")

    app.state.pool = pool
    return app
