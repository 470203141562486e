"""ocr-serve: real HTTP requests to a running app (uvicorn on a free loopback port), every status it answers,
the same records as ocr-run --json, and the web page in headless Chromium."""
import io
import json
import shutil
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import write_png
from PIL import Image

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from ocr.cli import main as ocr_run  # noqa: E402
from ocr.config import load_config  # noqa: E402
from ocr.app import create_app  # noqa: E402
from ocr.serve import Models, ServeSettings  # noqa: E402
from ocr.types import OCRResult  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class Server:
    """An app served by uvicorn in a thread, on a port of its own; ``url`` while running."""

    def __init__(self, app):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def tiny(tiny_files):
    """The tiny models (see conftest) as a config and as ocr-run flags."""
    det, rec = tiny_files
    flags = ["--detector", str(det), "--model", str(rec), "--max-side", "128", "--min-confidence", "0",
             "--device", "cpu"]
    cfg = load_config(overrides={"device": "cpu", "detector": {"model": str(det), "max_side": 128},
                                 "recognizer": {"model": str(rec), "min_confidence": 0.0}})
    return cfg, flags


@pytest.fixture(scope="module")
def server(tiny):
    with Server(create_app(Models(tiny[0]), ServeSettings(workers=2, queue=2, max_bytes=200_000,
                                                         max_pixels=1_000_000))) as s:
        yield s


def png_bytes(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_records_equal_ocr_run_json_in_both_modes(server, tiny, tmp_path, capsys):
    rng = np.random.default_rng(0)
    paths = [write_png(tmp_path / f"img{i}.png", rng.integers(0, 256, (60 + 10 * i, 90, 3))) for i in range(3)]
    for mode, flag in (("detect", []), ("crop", ["--no-detect"])):
        assert ocr_run([str(p) for p in paths] + tiny[1] + flag + ["--json", "-"]) == 0
        expected = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        for path, want in zip(paths, expected):
            with open(path, "rb") as f:
                r = httpx.post(f"{server.url}/v1/ocr", params={"mode": mode}, files={"file": (path.name, f, "image/png")})
            assert r.status_code == 200, r.text
            got = r.json()
            assert got["image"] == path.name and got["seconds"] >= 0
            assert {k: v for k, v in got.items() if k not in ("image", "seconds")} == \
                {k: v for k, v in want.items() if k not in ("image", "seconds")}
            assert got["words"]  # min_confidence 0: the box over the image is read
    raw = httpx.post(f"{server.url}/v1/ocr", params={"mode": "crop", "min_confidence": 1},
                     content=paths[0].read_bytes())  # the raw body works too; nothing reaches confidence 1
    assert raw.status_code == 200 and raw.json()["words"] == [] and raw.json()["image"] == "upload"


def test_annotated_png_models_and_health(server):
    r = httpx.post(f"{server.url}/v1/ocr/annotated", content=png_bytes(np.full((40, 80, 3), 200)))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (80, 40)
    models = httpx.get(f"{server.url}/v1/models").json()["models"]
    names = {m["name"] for m in models}
    assert {"words", "captcha", "captcha-v2"} <= names and [m["kind"] for m in models].count("detector") == 1
    assert sum(m["default"] and m["kind"] == "recognizer" for m in models) == 1
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "ok" and health["peak_rss_mb"] > 0
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "<canvas" in page.text


def absurd_png(width=60000, height=60000) -> bytes:
    """A PNG whose header claims a huge size (valid CRC), with no real pixel data behind it."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("kwargs,status,says", [
    ({"content": b"not an image"}, 422, "cannot read image"),
    ({"content": b""}, 422, "empty body"),
    ({"content": absurd_png()}, 422, "pixels"),  # Pillow itself refuses a header this absurd
    ({"content": png_bytes(np.zeros((1200, 1000, 3)))}, 422, "1000x1200 pixels"),
    ({"files": {"image": ("a.png", b"x")}}, 422, "field named 'file'"),
    ({"content": b"\0" * 300_000}, 413, "over the limit of 200,000"),
    ({"content": iter([b"\0" * 100_000] * 3)}, 413, "over the limit"),  # chunked: no length announced
    ({"params": {"model": "no-such-model"}, "content": b"x"}, 404, "no model named"),
    ({"params": {"model": "../../etc/passwd"}, "content": b"x"}, 404, "no model named"),
    ({"params": {"mode": "sideways"}, "content": b"x"}, 422, "mode must be"),
    ({"params": {"min_confidence": 2}, "content": b"x"}, 422, "min_confidence"),
])
def test_bad_requests_get_clear_statuses(server, kwargs, status, says):
    r = httpx.post(f"{server.url}/v1/ocr", **kwargs)
    assert r.status_code == status and says in r.json()["detail"], r.text
    assert httpx.get(f"{server.url}/healthz").json()["pending"] == 0  # every place was given back


def test_token_is_required_when_set(tiny):
    with Server(create_app(Models(tiny[0]), ServeSettings(token="s3cret"))) as s:
        body = png_bytes(np.zeros((20, 40, 3)))
        assert httpx.post(f"{s.url}/v1/ocr", content=body).status_code == 401
        wrong = httpx.post(f"{s.url}/v1/ocr", content=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert httpx.get(f"{s.url}/v1/models").status_code == 401
        right = httpx.post(f"{s.url}/v1/ocr", content=body, headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert httpx.get(f"{s.url}/healthz").status_code == 200  # probes need no token


class SlowPipeline:
    batch_size = 1

    def read_batch(self, images, min_confidence=None):
        time.sleep(1.0)
        return [OCRResult(width=i.shape[1], height=i.shape[0]) for i in images]


def test_overload_gets_503_with_retry_after_and_slow_work_504(tiny):
    body = png_bytes(np.zeros((20, 40, 3)))
    app = create_app(Models(tiny[0], build=lambda mode, name: SlowPipeline()), ServeSettings(workers=1, queue=0))
    with Server(app) as s:
        results = []
        threads = [threading.Thread(target=lambda: results.append(httpx.post(f"{s.url}/v1/ocr", content=body)))
                   for _ in range(3)]
        for t in threads:
            t.start()
            time.sleep(0.1)
        for t in threads:
            t.join()
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 503, 503]
        assert all(r.headers["retry-after"] == "1" for r in results if r.status_code == 503)
    app = create_app(Models(tiny[0], build=lambda mode, name: SlowPipeline()), ServeSettings(timeout=0.2))
    with Server(app) as s:
        r = httpx.post(f"{s.url}/v1/ocr", content=body)
        assert r.status_code == 504 and "within 0.2 s" in r.json()["detail"]


def test_serve_refuses_bad_settings(capsys):
    from ocr.serve import main

    assert main(["--workers", "0"]) == 2
    assert "--workers >= 1" in capsys.readouterr().err
    assert main(["--model", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
def test_the_page_reads_the_example_scene_in_a_real_browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    cfg = load_config(overrides={"device": "cpu"})
    with Server(create_app(Models(replace(cfg)), ServeSettings(workers=1))) as s:
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1280,900", f"--user-data-dir={tmp_path / 'profile'}"):
            options.add_argument(flag)
        service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
        browser = webdriver.Chrome(options=options, service=service)
        try:
            browser.get(s.url + "/")
            WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#model option"))
            browser.find_element(By.ID, "file").send_keys(str(ROOT / "examples" / "scene.jpg"))
            WebDriverWait(browser, 60).until(lambda b: "words in" in b.find_element(By.ID, "status").text)
            text = browser.find_element(By.ID, "text").text.lower()
            assert sum(w in text for w in ("coddles", "rutabaga", "orderly", "containing", "428")) >= 4, text
            record = json.loads(browser.find_element(By.ID, "json").text)
            assert record["width"] == 722 and len(record["words"]) >= 6
            browser.save_screenshot(str(tmp_path / "page.png"))
            if (target := __import__("os").environ.get("OCR_SERVE_SCREENSHOT")):
                shutil.copy(tmp_path / "page.png", target)
        finally:
            browser.quit()
