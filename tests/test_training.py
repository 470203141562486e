import json

import pytest
import torch

from recognizer.charset import Charset
from recognizer.config import RecognizerConfig
from engine.images import load_image
from recognizer.config import RecognizerSettings
from recognizer.model import CRNN
from recognizer.dataset import read_folder
from recognizer.predict import Recognizer
from engine.training import cpu_has_bf16_tiles, mixed_precision
from recognizer.training import TrainConfig, lr_at, train

TINY = RecognizerConfig(width=64, height=32, width_mult=0.25, hidden=64)  # 16 time steps: enough for 4 characters


def test_schedule_warms_up_stays_flat_then_anneals():
    cfg = TrainConfig(steps=1000, lr=1e-3, warmup_steps=100, anneal_fraction=0.3)
    assert lr_at(0, cfg) == pytest.approx(1e-5)
    assert lr_at(99, cfg) == pytest.approx(1e-3)
    assert lr_at(500, cfg) == lr_at(699, cfg) == pytest.approx(1e-3)
    assert lr_at(850, cfg) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5))
    assert lr_at(1000, cfg) == pytest.approx(1e-5)


def test_tiny_model_overfits_captchas_and_decodes_them(captcha_dir, tmp_path):
    torch.manual_seed(0)
    samples = read_folder(captcha_dir)
    charset = Charset.from_texts(s.text for s in samples)
    cfg = TrainConfig(steps=200, batch_size=len(samples), lr=3e-3, warmup_steps=20, augment=False, val_every=100)
    result = train(tmp_path, samples, samples, TINY, charset, cfg, workers=0, progress=False)
    assert result["finished"] and result["steps"] == 200 and result["best_val_seq_acc"] == 1.0
    rec = Recognizer.load(tmp_path / "best.pt", RecognizerSettings(decoder="beam"), device="cpu")
    readings = rec([load_image(s.path) for s in samples])
    assert [r.text for r in readings] == [s.text for s in samples]
    assert all(0.5 < r.confidence <= 1.0 for r in readings)


def test_mixed_precision_is_bf16_only_on_cpus_with_tiles_and_the_run_says_which(captcha_dir, tmp_path):
    layer, x = torch.nn.Linear(4, 3), torch.ones(2, 4)
    with mixed_precision(torch.device("cpu")):
        assert layer(x).dtype == (torch.bfloat16 if cpu_has_bf16_tiles() else torch.float32)
    with mixed_precision(torch.device("cpu"), enabled=False):
        assert layer(x).dtype == torch.float32
    samples = read_folder(captcha_dir)
    charset = Charset.from_texts(s.text for s in samples)
    cfg = TrainConfig(steps=2, batch_size=4, warmup_steps=1, val_every=100)
    mixed = train(tmp_path / "mixed", samples, [], TINY, charset, cfg, workers=0, progress=False, device="cpu")
    full = train(tmp_path / "fp32", samples, [], TINY, charset, cfg, workers=0, progress=False, device="cpu", fp32=True)
    assert (mixed["precision"], full["precision"]) == ("bf16" if cpu_has_bf16_tiles() else "fp32", "fp32")


def test_resume_continues_exactly(captcha_dir, tmp_path):
    samples = read_folder(captcha_dir)
    charset = Charset.from_texts(s.text for s in samples)
    cfg = TrainConfig(steps=12, batch_size=4, lr=1e-3, warmup_steps=2, val_every=100, log_every=1)

    def weights(run):
        return torch.load(run / "last.pt", weights_only=True)["model"]["state_dict"]

    torch.manual_seed(1)
    train(tmp_path / "straight", samples, [], TINY, charset, cfg, workers=0, progress=False)
    torch.manual_seed(1)
    first = train(tmp_path / "split", samples, [], TINY, charset, cfg, workers=0, progress=False, max_minutes=0)
    assert first["steps"] == 1 and not first["finished"]  # stopped (and saved) after its first step
    with open(tmp_path / "split" / "metrics.jsonl", "a") as log:  # logged after the last checkpoint, then lost
        log.write('{"step": 5, "stale": true}\n')
    second = train(tmp_path / "split", samples, [], TINY, charset, cfg, workers=0, progress=False, resume=True)
    assert second["finished"] and second["samples_seen"] == 12 * 4
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a)
    logs = [[json.loads(line) for line in open(tmp_path / run / "metrics.jsonl")] for run in ("straight", "split")]
    assert [r["step"] for r in logs[1]] == [r["step"] for r in logs[0]] == list(range(1, 13))
    assert not any("stale" in r for r in logs[1])


def test_training_survives_a_corrupt_image(captcha_dir, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(captcha_dir, data)
    (data / "abc_9.png").write_bytes(b"corrupt")
    samples = read_folder(data)
    charset = Charset.from_texts(s.text for s in samples)
    cfg = TrainConfig(steps=4, batch_size=len(samples), warmup_steps=1, val_every=2)
    result = train(tmp_path / "run", samples, samples[:2], TINY, charset, cfg, workers=0, progress=False)
    assert result["finished"] and result["samples_seen"] == 4 * (len(samples) - 1)
    assert "abc_9.png" in capsys.readouterr().err


def test_warm_start_keeps_shared_rows_and_takes_a_new_width():
    from recognizer.checkpoint import make_checkpoint
    from recognizer.training import warm_start

    torch.manual_seed(0)
    source = CRNN(TINY, 4)  # blank, a, b, c
    ckpt = make_checkpoint(source, Charset("abc"))
    wider = RecognizerConfig(width=96, height=32, width_mult=0.25, hidden=64)
    target = CRNN(wider, 5)  # blank, A, a, c, d: 'b' dropped, 'A' and 'd' new
    warm_start(target, Charset("Aacd"), ckpt)
    old, new = source.state_dict(), target.state_dict()
    assert all(torch.equal(new[k], old[k]) for k in old if not k.startswith("head."))
    for to, frm in [(0, 0), (2, 1), (3, 3)]:  # blank, a, c
        assert torch.equal(new["head.weight"][to], old["head.weight"][frm])
    assert not torch.equal(new["head.weight"][1], old["head.weight"][1])  # 'A' starts fresh


def test_init_with_new_characters_trains_from_the_shared_ones(captcha_dir, tmp_path, capsys):
    from ocr.train import main as train_main
    from recognizer.checkpoint import make_checkpoint

    torch.manual_seed(0)
    torch.save(make_checkpoint(CRNN(TINY, 4), Charset("abc")), tmp_path / "base.pt")
    code = train_main([str(captcha_dir), "--init", str(tmp_path / "base.pt"), "--steps", "2", "--width", "96",
                       "--out", str(tmp_path / "run"), "--workers", "0", "--quiet", "--val-split", "0"])
    assert code == 0
    err = capsys.readouterr().err
    assert "the output rows of the shared ones carry over" in err
    best = Recognizer.load(tmp_path / "run" / "best.pt", device="cpu")
    # captcha-like labels: the model reads exactly their characters, whatever --init knew besides
    assert best.cfg.width == 96 and best.charset.chars == "".join(sorted({c for s in read_folder(captcha_dir)
                                                                           for c in s.text}))
