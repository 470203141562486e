import filecmp
import json

import numpy as np
import pytest
from conftest import write_png

from ocr.train import main as train_main

import make_captchas

from recognizer.dataset import label_from_filename, read_folder



def last_summary(out: str) -> dict:
    """ocr-train prints each run's summary as a JSON line, then its end report."""
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])

def test_captcha_generator_is_deterministic(tmp_path):
    args = ["-n", "5", "--seed", "11"]
    make_captchas.main(["--out", str(tmp_path / "a")] + args)
    make_captchas.main(["--out", str(tmp_path / "b"), "--workers", "2"] + args)
    make_captchas.main(["--out", str(tmp_path / "c"), "-n", "5", "--seed", "12"])
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert all(filecmp.cmp(tmp_path / "a" / n, tmp_path / "b" / n, shallow=False) for n in names)
    assert names != sorted(p.name for p in (tmp_path / "c").iterdir())


def test_captcha_labels_respect_charset_length_and_size(tmp_path):
    from PIL import Image

    make_captchas.main(["--out", str(tmp_path), "-n", "20", "--seed", "1", "--charset", "xyz7", "--min-len", "2",
                        "--max-len", "3"])
    for p in tmp_path.iterdir():
        label = label_from_filename(p.name)
        assert 2 <= len(label) <= 3 and set(label) <= set("xyz7")
        assert Image.open(p).size == (160, 60)


def test_captcha_charset_with_separator_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        make_captchas.main(["--out", str(tmp_path), "--charset", "ab_"])
    assert e.value.code not in (0, None) and "'_'" in str(e.value.code) + capsys.readouterr().err


def test_train_cli_reports_empty_folder(tmp_path, capsys):
    assert train_main([str(tmp_path), "--out", str(tmp_path / "run")]) == 2
    assert "no labelled images" in capsys.readouterr().err


def test_labels_that_do_not_fit_are_skipped_counted_and_named(tmp_path, capsys):
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    write_png(tmp_path / "train" / "ab.png", np.zeros((20, 40, 3)))
    write_png(tmp_path / "train" / "bQ.png", np.zeros((20, 40, 3)))
    write_png(tmp_path / "val" / "aQ.png", np.zeros((20, 40, 3)))
    code = train_main([str(tmp_path / "train"), "--val", str(tmp_path / "val"), "--charset", "ab",
                       "--out", str(tmp_path / "run"), "--steps", "2", "--workers", "0", "--quiet"])
    assert code == 0
    captured = capsys.readouterr()
    assert "training data: 1 of 2 labels skipped" in captured.err and "bQ.png" in captured.err
    assert "validation set val: 1 of 1 labels skipped" in captured.err and "aQ.png" in captured.err
    assert last_summary(captured.out)["train_size"] == 1


def test_several_validation_sets_are_reported_apart(captcha_dir, tmp_path, capsys):
    import shutil

    for name in ("one", "two"):
        shutil.copytree(captcha_dir, tmp_path / name)
    run = tmp_path / "run"
    code = train_main([str(captcha_dir), str(captcha_dir), "--val", str(tmp_path / "one"), str(tmp_path / "two"),
                       "--select", "folded", "--out", str(run), "--steps", "2", "--val-every", "1", "--width", "64",
                       "--height", "32", "--workers", "0", "--quiet"])
    assert code == 0
    result = last_summary(capsys.readouterr().out)
    assert result["train_size"] == 12 and result["val_size"] == 12  # a folder named twice counts twice
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in logged if "val_folded_seq_acc" in r][-1]
    for key in ("seq_acc", "folded_seq_acc", "char_acc"):
        assert val[f"val_{key}"] == pytest.approx((val[f"val_one/{key}"] + val[f"val_two/{key}"]) / 2)
    assert result["best_val_folded_seq_acc"] == max(r["val_folded_seq_acc"] for r in logged if "val_folded_seq_acc" in r)


def test_train_cli_folds_and_resume(captcha_dir, tmp_path, capsys):
    out = tmp_path / "cv"
    common = ["--out", str(out), "--workers", "0", "--quiet"]
    code = train_main([str(captcha_dir), "--folds", "2", "--steps", "2", "--width", "64",
                                  "--height", "32", "--batch-size", "3"] + common)
    assert code == 0
    printed = capsys.readouterr().out
    assert "2-fold cross-validation: sequence accuracy mean" in printed
    runs = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    assert [(r["train_size"], r["val_size"]) for r in runs] == [(3, 3), (3, 3)]
    assert (out / "fold-1" / "best.pt").is_file() and (out / "fold-2" / "last.pt").is_file()
    # a finished run resumed does nothing more
    assert train_main(["--resume"] + common) == 0


def test_resume_refuses_changed_training_data(captcha_dir, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(captcha_dir, data)
    common = ["--out", str(tmp_path / "run"), "--workers", "0", "--quiet"]
    assert train_main([str(data), "--steps", "1", "--width", "64", "--height", "32"] + common) == 0
    write_png(data / "new_1.png", np.zeros((20, 40, 3)))
    assert train_main(["--resume"] + common) == 2
    assert "training data changed" in capsys.readouterr().err


def test_training_state_is_refused_as_a_model(captcha_dir, tmp_path):
    from recognizer.checkpoint import read_checkpoint

    common = ["--out", str(tmp_path / "run"), "--workers", "0", "--quiet"]
    assert train_main([str(captcha_dir), "--steps", "1", "--width", "64", "--height", "32"] + common) == 0
    with pytest.raises(ValueError, match="use best.pt"):
        read_checkpoint(tmp_path / "run" / "last.pt")
    assert read_checkpoint(tmp_path / "run" / "best.pt")["kind"] == "recognizer"


def test_resume_goes_on_with_new_data_only_when_asked_and_validation_is_apart(captcha_dir, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(captcha_dir, data)
    common = ["--out", str(tmp_path / "run"), "--workers", "0", "--quiet"]
    assert train_main([str(data), "--val", str(captcha_dir), "--steps", "3", "--minutes", "0", "--width", "64",
                       "--height", "32"] + common) == 0
    write_png(data / "new_1.png", np.zeros((20, 40, 3)))
    assert train_main(["--resume"] + common) == 2
    assert "pass --new-data" in capsys.readouterr().err
    assert train_main(["--resume", "--new-data"] + common) == 0
    out, err = capsys.readouterr()
    assert "6 -> 7 training samples" in err and last_summary(out)["finished"]


def test_captcha_zoo_is_deterministic_and_named_by_its_text(tmp_path):
    import make_captcha_zoo as zoo
    from captcha.image import DEFAULT_FONTS  # a font that is always there offline

    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "DejaVuSansMono.ttf").write_bytes(open(DEFAULT_FONTS[0], "rb").read())
    args = ["-n", "12", "--seed", "3", "--fonts", str(fonts), "--photos", str(tmp_path / "none")]
    zoo.main(["--out", str(tmp_path / "a")] + args)
    zoo.main(["--out", str(tmp_path / "b"), "--workers", "2"] + args)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir()) and len(names) == 12
    assert all(filecmp.cmp(tmp_path / "a" / n, tmp_path / "b" / n, shallow=False) for n in names)
    labels = [label_from_filename(n) for n in names]
    upper = [t for t in labels if any(c.isupper() for c in t)]
    assert len(upper) == 2 and all(set(t) <= set(zoo.UPPER) for t in upper)  # upper-clear: 2 of 12 in turn
    assert all(4 <= len(t) <= 8 and set(t) <= set(zoo.LOWER + zoo.UPPER) for t in labels)
    zoo.main(["--out", str(tmp_path / "c"), "--style", "package", "dotted", "--case", "upper", "--length", "3", "3"]
             + args)
    labels = [label_from_filename(p.name) for p in (tmp_path / "c").iterdir()]
    assert len(labels) == 12 and all(len(t) == 3 and set(t) <= set(zoo.UPPER) for t in labels)
    assert sum(any(c.isalpha() for c in t) for t in labels) >= 10  # letters, not only digits


def test_plate_split_keeps_each_plate_on_one_side(tmp_path):
    import prepare_plates

    real, renders = tmp_path / "real", tmp_path / "renders"
    for folder, names in ((real, [f"{p}_{k}.jpg" for p in ("AAA1111", "BBB2222", "CCC3333", "DDD4444", "EEE5555")
                                  for k in range(3)]), (renders, ["pl_AAA1111.png", "pl_ZZZ9999.png"])):
        (folder / "images").mkdir(parents=True)
        for name in names:
            write_png(folder / "images" / name, np.zeros((20, 40, 3)))
        (folder / "labels.tsv").write_text("".join(f"{n}\t{n.split('_')[-2 if n.startswith('pl') else 0][:7]}\n"
                                                   for n in names))
    split = tmp_path / "split.txt"
    args = ["--real", str(real), "--renders", str(renders), "--out", str(tmp_path / "out"), "--split", str(split)]
    assert prepare_plates.main(args) == 0
    [held] = split.read_text().split()  # a fifth of five plates, drawn once
    train = read_folder(tmp_path / "out" / "train")
    val = read_folder(tmp_path / "out" / "val-br")
    assert {s.text for s in val} == {held} and len(val) == 3 and held not in {s.text for s in train}
    assert len(train) == 12 + 2 - (held == "AAA1111") and all(s.path.is_file() for s in train + val)
    split.write_text("BBB2222\nCCC3333\n")  # the committed split wins over a new draw
    assert prepare_plates.main(args) == 0
    assert {s.text for s in read_folder(tmp_path / "out" / "val-br")} == {"BBB2222", "CCC3333"}


def test_average_weights_is_the_weighted_mean_of_one_lineage(tmp_path, capsys):
    import torch

    import average_weights
    from engine.checkpoint import save_atomic
    from recognizer.charset import Charset
    from recognizer.checkpoint import build_model, make_checkpoint, read_checkpoint
    from recognizer.config import RecognizerConfig
    from recognizer.model import CRNN

    charset, cfg = Charset("ab"), RecognizerConfig(width_mult=0.25, hidden=16)
    paths = []
    for i in range(2):
        torch.manual_seed(i)
        save_atomic(make_checkpoint(CRNN(cfg, charset.num_classes), charset, {"steps": 10 * i}), tmp_path / f"{i}.pt")
        paths.append(str(tmp_path / f"{i}.pt"))
    assert average_weights.main(paths + ["--weights", "0.75", "0.25", "--out", str(tmp_path / "soup.pt")]) == 0
    a, b, soup = (read_checkpoint(p) for p in paths + [str(tmp_path / "soup.pt")])
    key = "head.weight"
    assert torch.allclose(soup["state_dict"][key], 0.75 * a["state_dict"][key] + 0.25 * b["state_dict"][key])
    counts = [k for k in soup["state_dict"] if k.endswith("num_batches_tracked")]
    assert counts and all(soup["state_dict"][k].dtype == torch.long for k in counts)
    assert [p["steps"] for p in soup["summary"]["parts"]] == [0, 10]
    build_model(soup)  # a checkpoint like any other
    other = make_checkpoint(CRNN(RecognizerConfig(width_mult=0.25, hidden=8), charset.num_classes), charset)
    save_atomic(other, tmp_path / "other.pt")
    assert average_weights.main([paths[0], str(tmp_path / "other.pt"), "--out", str(tmp_path / "x.pt")]) == 1
    assert "other.pt: its network or charset differs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        average_weights.main(paths + ["--weights", "0.5", "0.6", "--out", str(tmp_path / "x.pt")])
