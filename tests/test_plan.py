"""ocr-train's choices for a new recognizer run: margins, geometry, charset, starting model, early decay."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine.training import TrainConfig, fit
from recognizer.dataset import Sample
from recognizer.metrics import confusions
from recognizer.plan import plan, summarize
from recognizer.transforms import content_box, trim_margins


def page(width=200, height=40):
    return np.full((height, width, 3), 255, np.uint8)


def test_content_box_finds_the_text_and_ignores_a_crossing_line():
    image = page()
    image[10:30, 80:120] = 0  # the "text": 40 x 20 px
    assert content_box(image) == (78, 8, 122, 32)  # a margin of 10 % of its height, at least 2 px
    image[5, :] = 0  # a thin line across the whole width does not widen it
    assert content_box(image) == (78, 8, 122, 32)
    assert trim_margins(image).shape == (24, 44, 3)
    assert content_box(page()) == (0, 0, 200, 40)  # nothing stands out: the whole image


def test_content_box_keeps_the_letters_when_a_line_holds_more_ink_than_they_do():
    image = page(200, 60)
    for x in range(60, 140, 16):  # five "letters", 3 x 20 px: 15 px of ink in each of their rows
        image[20:40, x : x + 3] = 0
    image[46:52, 50:150] = 0  # a line 6 px thick below them: 100 px of ink in each of its rows, but one stroke
    assert content_box(image) == (48, 18, 152, 42)  # the letters' rows (counting ink chose the line's)


def write(folder, texts, size):
    folder.mkdir(parents=True, exist_ok=True)
    samples = []
    for i, text in enumerate(texts):
        image = page(*size)
        w = size[0]
        image[size[1] // 4 : 3 * size[1] // 4, w // 4 : 3 * w // 4] = 30  # text over the middle half
        path = folder / f"{text}_{i}.png"
        Image.fromarray(image).save(path)
        samples.append(Sample(path, text))
    return samples


def never(name):
    raise AssertionError(f"the charset of {name} was not needed")


def test_captcha_like_data_is_trimmed_sized_by_its_text_and_fine_tunes_a_captcha_reader(tmp_path):
    samples = write(tmp_path / "c", ["ab12", "zz9", "q7a0", "kk"] * 5, (240, 60))
    summary = summarize(samples)
    assert summary.count == 20 and summary.width == (240, 240, 240) and summary.case == "lower"
    assert summary.lengths == (2, 3, 4) and summary.chars == "01279abkqz"
    assert summary.margin == pytest.approx(1 - 126 / 240)  # the middle half (120 x 30 px), 3 px either side
    choice = plan(summary, ["words", "captcha"], never)
    # the text, 126 x 36 px with its margins, at height 64: 224 px
    assert (choice.trim, choice.width, choice.resize) == (True, 224, "stretch")
    assert (choice.init, choice.charset, choice.clutter) == ("captcha", "01279abkqz", True)
    assert choice.val_count == 5 and (choice.lr, choice.warmup) == (5e-4, 100)
    assert plan(summary, ["words", "captcha", "captcha-base"], never).init == "captcha-base"


def test_word_crops_keep_the_word_readers_characters_and_flags_win(tmp_path):
    samples = write(tmp_path / "w", ["Hello,", "£5.20", "a"], (120, 40)) + write(tmp_path / "w2", ["x"], (40, 40))
    summary = summarize(samples)
    choice = plan(summary, ["words"], lambda name: {"words": "abc,."}[name])
    assert choice.init == "words" and choice.charset == "abc,." + "".join(c for c in summary.chars if c not in "abc,.")
    assert choice.clutter is False and choice.resize == "pad"  # aspect ratios 1 and 3
    assert choice.width == 176  # median text 64 x 24 px (aspect 2.67) at height 64: 171 -> steps of 16
    longer = plan(summarize(samples + write(tmp_path / "w3", ["x" * 30], (40, 40))), ["words"], never, {"init": None})
    assert longer.width == 240  # 8 px (2 time steps) for each character of the longest label
    fixed = plan(summary, ["words"], never, {"init": None, "width": 128})
    assert (fixed.init, fixed.width, fixed.charset, fixed.lr) == (None, 128, summary.chars, 1e-3)
    assert "(given)" in fixed.why["init"] and "(given)" in fixed.why["width"]


def test_confusions_align_readings_with_the_truth():
    found = confusions(["ab0d", "xyz", "abc", "ac"], ["abod", "xy", "abc", "abc"])
    assert found == {("o", "0"): 1, ("", "z"): 1, ("b", ""): 1}


class Constant(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, item):
        return torch.ones(2)


def test_a_stalled_recognizer_run_decays_no_sooner_than_40_percent_in():
    from recognizer.training import TrainConfig as RecognizerTrainConfig
    from recognizer.training import early_end

    cfg = RecognizerTrainConfig(steps=1000, anneal_fraction=0.3)
    assert early_end(100, cfg) == 700 and early_end(600, cfg) == 900


def test_the_decay_starts_early_once_validation_stops_improving(tmp_path):
    model = torch.nn.Linear(2, 1)
    scores = iter([0.05, 0.05, 0.05, 0.5, 0.5, 0.5] + [0.5] * 20)  # passes 0.1 at the 4th check, then flat
    rates = []

    def lr_at(step, end):
        rates.append((step, end))
        return 0.1

    result = fit(tmp_path, model, torch.optim.SGD(model.parameters(), lr=0.1), Constant(), torch.stack,
                 TrainConfig(steps=100, batch_size=4, warmup_steps=0, val_every=1), lr_at=lr_at,
                 loss_fn=lambda m, batch, dev: (m(batch.to(dev)).pow(2).mean(), {}, len(batch)),
                 validate=lambda m: {"score": next(scores)}, model_checkpoint=lambda m, s: {"state": m.state_dict()},
                 score_key="score", patience=2, patience_from=0.1, early_end=lambda step: step + 10,
                 workers=0, progress=False)
    # the 4th check (step 4) improves; checks at steps 5 and 6 do not: the run now ends at 6 + 10
    assert result["finished"] and result["steps"] == 16 and result["end"] == 16
    assert rates[5] == (5, 100) and rates[6] == (6, 16) and rates[-1] == (15, 16)
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert {"step": 6, "samples_seen": 24, "early_end": 16} in logged


def test_a_paced_run_moves_its_end_to_where_its_time_runs_out(tmp_path, monkeypatch):
    import types

    from engine import training

    clock = [0.0]
    monkeypatch.setattr(training, "time", types.SimpleNamespace(time=lambda: clock[0]))

    def one_second_steps(m, batch, dev):  # each step takes 1 s on the fake clock; validations take none
        clock[0] += 1.0
        return m(batch.to(dev)).pow(2).mean(), {}, len(batch)

    def run(folder, steps):
        clock[0] = 0.0
        model = torch.nn.Linear(2, 1)
        ends = []
        result = fit(folder, model, torch.optim.SGD(model.parameters(), lr=0.1), Constant(), torch.stack,
                     TrainConfig(steps=steps, batch_size=4, warmup_steps=0, val_every=5),
                     lr_at=lambda step, end: ends.append(end) or 0.1, loss_fn=one_second_steps,
                     validate=lambda m: {"score": 0.5}, model_checkpoint=lambda m, s: {"state": m.state_dict()},
                     score_key="score", max_minutes=0.5, paced_decay=5, workers=0, progress=False)
        return result, ends

    # 30 s at 1 s a step: at step 5, 25 s are left, 95 % of them 23 steps: the end moves from 20 to 28; at
    # step 10, 95 % of 20 s: 29; later checks find 29 too, and none moves it once the decay (last 5) has begun
    result, ends = run(tmp_path / "fast", 20)
    assert result["finished"] and result["steps"] == 29 and result["end"] == 29
    assert ends[4] == 20 and ends[5] == 28 and ends[10] == 29 and ends[-1] == 29
    # planned too long for the time: the end comes in, before the time limit would cut the decay short
    result, ends = run(tmp_path / "slow", 40)
    assert result["finished"] and result["steps"] == 29 and ends[4] == 40 and ends[5] == 28
    logged = [json.loads(line) for line in (tmp_path / "slow" / "metrics.jsonl").read_text().splitlines()]
    assert {"step": 5, "samples_seen": 20, "paced_end": 28} in logged


def test_one_command_says_what_it_chose_and_reports_its_model(captcha_dir, tmp_path, capsys):
    from ocr.train import main as train_main

    out = tmp_path / "mine"
    assert train_main([str(captcha_dir), "--out", str(out), "--steps", "3", "--workers", "0", "--quiet"]) == 0
    printed = capsys.readouterr()
    run = json.loads((out / "run.json").read_text())
    assert run["init"] == "captcha-base" and run["val_split"] == pytest.approx(1 / 6)  # at least a quarter: 1 of 6
    assert "init: captcha-base: letters and digits only" in printed.err  # the choices, with their reasons
    report = (out / "report.txt").read_text()
    assert report.endswith(f"read with: ocr-run --no-detect --model {out / 'best.pt'} IMAGE...\n")
    assert "sequence accuracy" in report and "on 1 validation images" in report and report in printed.out + "\n"


def test_the_report_scores_each_validation_folder(captcha_dir, tmp_path, capsys):
    import shutil

    from ocr.train import main as train_main

    val = tmp_path / "val"
    val.mkdir()
    for path in sorted(captcha_dir.iterdir())[:2]:
        shutil.copy(path, val / path.name)
    out = tmp_path / "mine"
    assert train_main([str(captcha_dir), "--val", str(val), "--out", str(out), "--steps", "2", "--workers", "0",
                       "--quiet"]) == 0
    report = (out / "report.txt").read_text()
    assert "on 2 validation images of val" in report and report in capsys.readouterr().out + "\n"
