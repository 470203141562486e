"""The detector's tools: threshold sweeps in eval_detector, rescheduling with ocr-train --resume --steps."""
import json

import numpy as np
import pytest
import torch
from conftest import write_png

from ocr.train import main as train_main

import eval_detector
from detector.checkpoint import load_model, make_checkpoint
from detector.config import DetectorConfig
from detector.model import DBNet


@pytest.fixture
def scenes(tmp_path):
    """Two ICDAR-style images: dark words on light noise, one don't-care region."""
    rng = np.random.default_rng(1)
    for n in (1, 2):
        image = rng.integers(150, 256, (96, 160, 3))
        image[30:50, 20:100] = 20
        write_png(tmp_path / f"img_{n}.png", image)
        (tmp_path / f"gt_img_{n}.txt").write_text("20,30,100,30,100,50,20,50,WORD\n120,60,150,60,150,80,120,80,###\n",
                                                  encoding="utf-8-sig")
    return tmp_path


@pytest.fixture
def flat_weights(tmp_path):
    """A network whose probability map is 0.4 everywhere: one whole-image box when 0.4 passes both thresholds."""
    model = DBNet(DetectorConfig(width_mult=0.125, neck=16)).eval()
    with torch.no_grad():
        model.prob_head[-1].weight.zero_()
        model.prob_head[-1].bias.fill_(float(np.log(0.4 / 0.6)))
    path = tmp_path / "flat.pt"
    torch.save(make_checkpoint(model), path)
    return path


def _results(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_sweep_scores_each_setting_as_a_single_run_would(scenes, flat_weights, capsys):
    common = ["--data", str(scenes), "--weights", str(flat_weights), "--max-side", "96", "--json"]
    assert eval_detector.main(common + ["--bin-thresh", "0.3", "0.5", "--box-thresh", "0.35", "0.45"]) == 0
    sweep = _results(capsys)
    assert len(sweep) == 4
    assert [r["hmean"] for r in sweep] == sorted((r["hmean"] for r in sweep), reverse=True)
    for r in sweep:
        assert eval_detector.main(common + ["--bin-thresh", str(r["bin_thresh"]),
                                            "--box-thresh", str(r["box_thresh"])]) == 0
        [single] = _results(capsys)
        keys = ("precision", "recall", "hmean", "num_det", "matched")
        assert {k: single[k] for k in keys} == {k: r[k] for k in keys}
    by_setting = {(r["bin_thresh"], r["box_thresh"]): r["num_det"] for r in sweep}
    assert by_setting == {(0.3, 0.35): 2, (0.3, 0.45): 0, (0.5, 0.35): 0, (0.5, 0.45): 0}  # one box per image


def test_draw_refuses_a_sweep(scenes, flat_weights, tmp_path):
    with pytest.raises(SystemExit) as e:
        eval_detector.main(["--data", str(scenes), "--weights", str(flat_weights), "--draw", str(tmp_path / "d"),
                            "--box-thresh", "0.4", "0.6"])
    assert e.value.code == 2


def test_resume_with_steps_reschedules_the_run(scenes, tmp_path, capsys):
    holdout = tmp_path / "holdout.txt"
    holdout.write_text("img_2.png\n")
    run = tmp_path / "run"
    common = ["--out", str(run), "--batch-size", "2", "--crop-size", "64", "--workers", "0", "--quiet",
              "--val-max-side", "64"]
    assert train_main(common + [str(scenes), "--holdout", str(holdout), "--steps", "6",
                                         "--minutes", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 1
    assert train_main(common + ["--resume", "--steps", "3"]) == 0
    out, err = capsys.readouterr()
    assert "rescheduled: 6 -> 3 steps" in err
    result = json.loads(out)
    assert result["steps"] == 3 and result["finished"]
    assert json.loads((run / "run.json").read_text())["train_config"]["steps"] == 3


def test_fine_tuning_starts_from_init_and_holdouts_add_up(scenes, flat_weights, tmp_path, capsys):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("img_2.png\n")
    second.write_text("img_9.png\n")  # names of another folder's images: nothing here
    run = tmp_path / "run"
    assert train_main([str(scenes), "--init", str(flat_weights), "--holdout", str(first), str(second),
                       "--out", str(run), "--steps", "1", "--lr", "1e-12", "--batch-size", "2", "--crop-size", "64",
                       "--workers", "0", "--quiet", "--val-max-side", "64"]) == 0
    assert "1 training images, 1 validation images" in capsys.readouterr().err
    started = json.loads((run / "run.json").read_text())
    assert started["init"] == str(flat_weights) and started["model"]["width_mult"] == 0.125  # the init's network
    model, _ = load_model(run / "best.pt")
    assert float(model.prob_head[-1].bias.detach()) == pytest.approx(float(np.log(0.4 / 0.6)), abs=1e-6)


def test_a_missing_holdout_file_is_named(scenes, tmp_path, capsys):
    code = train_main([str(scenes), "--holdout", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "run"),
                       "--steps", "1", "--quiet", "--workers", "0"])
    assert code == 2 and "nope.txt: no such file" in capsys.readouterr().err
