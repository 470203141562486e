"""Batch OCR on a local Ray: the records of a local run, in input order; a bad image reported, the rest kept."""
import json

import numpy as np
import pytest
from conftest import write_png

ray = pytest.importorskip("ray")

from ocr.cli import main as ocr_run  # noqa: E402
from ocr.config import load_config  # noqa: E402
from ocr.distributed import read_on_ray, start_ray  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    start_ray()
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny(tiny_files, tmp_path_factory):
    """Five images (one broken) and ocr-run flags for the tiny models (see conftest)."""
    det, rec = tiny_files
    folder = tmp_path_factory.mktemp("ray-images")
    rng = np.random.default_rng(0)
    images = [write_png(folder / f"img{i}.png", rng.integers(0, 256, (50 + 9 * i, 90, 3))) for i in range(5)]
    (folder / "img2.png").write_bytes(b"broken")
    flags = ["--detector", str(det), "--model", str(rec), "--max-side", "128", "--min-confidence", "0",
             "--device", "cpu", "--quiet"]
    return [str(p) for p in images], flags


def drop_seconds(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.mark.parametrize("mode", [[], ["--no-detect"]])
def test_ray_run_writes_the_records_of_a_local_run(local_ray, tiny, mode, capsys):
    images, flags = tiny
    assert ocr_run(images + flags + mode + ["--json", "-"]) == 1  # img2 is broken
    local = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert ocr_run(images + flags + mode + ["--json", "-", "--ray", "--workers", "2"]) == 1
    out, err = capsys.readouterr()
    assert "img2.png: cannot read image" in err
    assert drop_seconds(json.loads(line) for line in out.splitlines()) == drop_seconds(local)
    assert [r["image"] for r in local] == [p for p in images if not p.endswith("img2.png")]


def test_read_on_ray_reports_a_bad_image_in_its_record(local_ray, tiny):
    images, flags = tiny
    cfg = load_config(overrides={"device": "cpu", "detector": {"model": flags[1], "max_side": 128},
                                 "recognizer": {"model": flags[3], "min_confidence": 0.0}})
    records = list(read_on_ray(images, cfg, detect=False, workers=1, batch_size=2))
    assert [r["image"] for r in records] == images  # input order, batches of 2 over one actor
    assert "cannot read image" in records[2]["error"] and set(records[2]) == {"image", "error"}
    assert all(set(r) == {"image", "width", "height", "words", "seconds"} for i, r in enumerate(records) if i != 2)
