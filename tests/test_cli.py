import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import write_png

from ocr.cli import main
from engine.images import load_image
from recognizer.charset import Charset
from recognizer.checkpoint import make_checkpoint, resolve_weights, shipped_models
from recognizer.config import RecognizerConfig
from recognizer.model import CRNN
from recognizer.predict import Recognizer


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    torch.manual_seed(0)
    cfg = RecognizerConfig(width_mult=0.125, hidden=16)
    charset = Charset("abc")
    path = tmp_path_factory.mktemp("w") / "tiny.pt"
    torch.save(make_checkpoint(CRNN(cfg, charset.num_classes).eval(), charset), path)
    return path


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    return [write_png(tmp_path / f"img{i}.png", rng.integers(0, 256, (30, 80, 3))) for i in range(2)]


def test_no_detect_writes_json_lines(tiny_weights, images, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    code = main(["--no-detect", "--model", str(tiny_weights), "--min-confidence", "0", "--json", str(out)]
                + [str(p) for p in images])
    assert code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    expected = Recognizer.load(tiny_weights, device="cpu")([load_image(p) for p in images])
    assert [r["image"] for r in records] == [str(p) for p in images]
    for record, reading in zip(records, expected):
        assert set(record) == {"image", "width", "height", "words", "seconds"} and record["seconds"] >= 0
        assert (record["width"], record["height"]) == (80, 30)
        words = [{"points": [[0.0, 0.0], [79.0, 0.0], [79.0, 29.0], [0.0, 29.0]], "text": reading.text,
                  "score": round(reading.confidence, 4), "det_score": 1.0}] if reading.text else []
        assert record["words"] == words  # the same record shape as with detection: the whole image is the region
    lines = capsys.readouterr().out.splitlines()  # plain text still goes to stdout: path<TAB>text
    assert lines == [f"{p}\t{r.text}" for p, r in zip(images, expected)]


def test_json_to_stdout_and_min_confidence(tiny_weights, images, capsys):
    assert main(["--no-detect", "--model", str(tiny_weights), "--json", "-", "--min-confidence", "1",
                 str(images[0])]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["words"] == []  # nothing reaches confidence 1 with random weights


def test_bad_inputs_are_named_and_others_still_read(tiny_weights, images, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"")
    code = main(["--no-detect", "--model", str(tiny_weights), str(tmp_path / "missing.png"), str(corrupt),
                 str(images[0])])
    captured = capsys.readouterr()
    assert code == 1
    assert "missing.png: no such file" in captured.err and "corrupt.png: cannot read image" in captured.err
    assert captured.out.startswith(f"{images[0]}\t")
    assert "Traceback" not in captured.err


def test_empty_folder_and_glob(tiny_weights, images, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["--no-detect", "--model", str(tiny_weights), str(tmp_path / "empty")]) == 1
    assert "folder holds no images" in capsys.readouterr().err
    assert main(["--no-detect", "--model", str(tiny_weights), str(tmp_path / "img*.png")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_unknown_model_and_missing_no_detect(capsys):
    assert main(["--no-detect", "--model", "no-such-model", "x.png"]) == 2
    assert "no-such-model" in capsys.readouterr().err
    assert main(["x.png"]) == 1  # the shipped detector loads; the missing input is named
    assert "x.png: no such file" in capsys.readouterr().err


def test_shipped_models_are_inside_the_package():
    assert {"captcha", "captcha-v2", "captcha-base", "plates"} <= set(shipped_models())
    assert resolve_weights("captcha").parent.name == "weights"


def test_installed_ocr_run_reads_captchas_from_any_folder(tmp_path):
    """The console script, run from an unrelated folder, finds the shipped model and reads captchas."""
    import make_captchas

    make_captchas.main(["--out", str(tmp_path / "c"), "-n", "5", "--seed", "424242"])
    files = sorted((tmp_path / "c").iterdir())
    env = {**os.environ, "PYTHONPATH": ""}
    script = os.path.join(os.path.dirname(sys.executable), "ocr-run")
    cmd = [script] if os.path.exists(script) else [sys.executable, "-m", "ocr.cli"]
    proc = subprocess.run(cmd + ["--no-detect", "--model", "captcha"] + [str(f) for f in files],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    read = [line.split("\t")[1] for line in proc.stdout.splitlines()]
    truth = [f.name.split("_")[0] for f in files]
    assert sum(r == t for r, t in zip(read, truth)) >= 4, (read, truth)


def test_a_detector_ships_inside_the_package():
    from detector.checkpoint import resolve_weights as detector_weights

    assert detector_weights("db").parent.name == "weights"


@pytest.mark.parametrize("command,says", [("ocr-run", "--no-detect"), ("ocr-train", "--resume"),
                                          ("ocr-eval", "end-to-end")])
def test_installed_commands_explain_themselves(command, says):
    script = os.path.join(os.path.dirname(sys.executable), command)
    module = {"ocr-run": "run", "ocr-train": "train", "ocr-eval": "eval"}[command]
    cmd = [script, "--help"] if os.path.exists(script) else [sys.executable, "-m", "ocr", module, "--help"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: {command}") and says in proc.stdout


def test_python_m_ocr_runs_the_commands(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ocr", "eval", str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "no labelled images" in proc.stderr


def test_a_config_that_is_not_a_mapping_is_named_not_echoed(tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    assert main(["--no-detect", "--config", str(secret), "x.png"]) == 2
    err = capsys.readouterr().err
    assert "config: expected a mapping of keys, got a str" in err and "root:x" not in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("recognizer: [hunter2\n")
    assert main(["--no-detect", "--config", str(broken), "x.png"]) == 2
    err = capsys.readouterr().err
    assert "not valid YAML at line" in err and "hunter2" not in err


def test_workers_give_the_same_records_in_the_same_order(tiny_weights, tmp_path, capsys):
    rng = np.random.default_rng(1)
    paths = [write_png(tmp_path / f"w{i:02d}.png", rng.integers(0, 256, (30, 60 + i, 3))) for i in range(9)]
    (tmp_path / "w04.png").write_bytes(b"broken")
    common = ["--no-detect", "--model", str(tiny_weights), "--min-confidence", "0", "--batch-size", "2", "--json", "-"]
    runs = []
    for workers in ("1", "3"):
        assert main([str(p) for p in paths] + common + ["--workers", workers]) == 1  # the broken one fails
        out, err = capsys.readouterr()
        assert "w04.png: cannot read image" in err and "8 images" in err and "1 failed" in err
        runs.append([{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in out.splitlines()])
    assert runs[0] == runs[1] and len(runs[0]) == 8
    assert [r["image"] for r in runs[0]] == [str(p) for p in paths if p.name != "w04.png"]
