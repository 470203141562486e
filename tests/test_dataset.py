import numpy as np
import pytest
import torch
from conftest import write_png

from recognizer.charset import Charset
from engine.images import load_image
from recognizer.dataset import (CropDataset, DataError, Sample, check_labels, collate, label_from_filename,
                                read_folder)
from recognizer.config import RecognizerConfig

GRAY = np.full((20, 40, 3), 128)


@pytest.mark.parametrize("name,sep,label", [
    ("1234.jpg", "_", "1234"),
    ("1234_7.jpg", "_", "1234"),
    ("ab_cd_7.png", "_", "ab_cd"),  # only the last separator splits
    ("1234_7.jpg", None, "1234_7"),
    ("1234-7.png", "-", "1234"),
    ("x.y.png", "_", "x.y"),
])
def test_label_from_filename(name, sep, label):
    assert label_from_filename(name, sep) == label


def test_folder_of_named_images(tmp_path):
    for name in ["b2_1.png", "a1.png", "notes.txt"]:
        write_png(tmp_path / name, GRAY) if name.endswith(".png") else (tmp_path / name).write_text("x")
    samples = read_folder(tmp_path)
    assert [(s.path.name, s.text) for s in samples] == [("a1.png", "a1"), ("b2_1.png", "b2")]
    assert [s.text for s in read_folder(tmp_path, label_sep=None)] == ["a1", "b2_1"]


def test_labels_tsv_wins_and_images_folder_is_used(tmp_path):
    (tmp_path / "images").mkdir()
    write_png(tmp_path / "images" / "x_1.png", GRAY)
    write_png(tmp_path / "images" / "y.png", GRAY)
    (tmp_path / "labels.tsv").write_text("x_1.png\thello world\ny.png\tYo!\n", encoding="utf-8")
    samples = read_folder(tmp_path)
    assert [(s.path, s.text) for s in samples] == [(tmp_path / "images" / "x_1.png", "hello world"),
                                                  (tmp_path / "images" / "y.png", "Yo!")]


def test_images_folder_without_tsv_reads_file_names(tmp_path):
    (tmp_path / "images").mkdir()
    write_png(tmp_path / "images" / "abc_3.png", GRAY)
    assert [s.text for s in read_folder(tmp_path)] == ["abc"]


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no labelled images"):
        read_folder(tmp_path)


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        read_folder(tmp_path / "nope")


def test_malformed_tsv_line_is_named(tmp_path):
    (tmp_path / "labels.tsv").write_text("a.png\tA\nno-tab-here\n")
    with pytest.raises(DataError, match=r"labels.tsv:2"):
        read_folder(tmp_path)


def test_unknown_character_names_the_file(tmp_path):
    samples = [Sample(tmp_path / "ok.png", "ab"), Sample(tmp_path / "bad.png", "aZ")]
    with pytest.raises(DataError, match=r"bad\.png.*'Z'"):
        check_labels(samples, Charset("ab"), time_steps=32)


def test_over_long_label_counts_repeats(tmp_path):
    cs = Charset("ab")
    assert check_labels([Sample(tmp_path / "fits.png", "aab")], cs, time_steps=4) == [[1, 1, 2]]
    with pytest.raises(DataError, match=r"long\.png.*needs 6 CTC frames.*4 time steps"):
        check_labels([Sample(tmp_path / "long.png", "aabb")], cs, time_steps=4)


def test_corrupt_image_is_named(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match=r"broken\.png: cannot read image"):
        load_image(bad)
    with pytest.raises(ValueError, match=r"gone\.png: no such file"):
        load_image(tmp_path / "gone.png")


def test_transparent_pixels_read_as_white_and_16_bit_is_scaled(tmp_path):
    from PIL import Image

    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    assert (load_image(tmp_path / "t.png") == 255).all()
    deep = np.full((4, 4), 40000, np.uint16)
    deep[0, 0] = 0
    Image.fromarray(deep).save(tmp_path / "d.png")
    img = load_image(tmp_path / "d.png")
    assert img.shape == (4, 4, 3) and img[1, 1, 0] == 255 and img[0, 0, 0] == 0


def test_dataset_skips_unreadable_image(tmp_path, capsys):
    write_png(tmp_path / "ab.png", GRAY)
    (tmp_path / "ba.png").write_bytes(b"\x89PNG broken")
    samples = read_folder(tmp_path)
    cfg = RecognizerConfig()
    ds = CropDataset(samples, check_labels(samples, Charset("ab"), cfg.time_steps), cfg)
    batch = collate([ds[0], ds[1]])
    assert "ba.png" in capsys.readouterr().err
    images, targets, lengths = batch
    assert images.shape == (1, 1, 64, 128)
    assert targets.tolist() == [1, 2] and lengths.tolist() == [2]
    assert collate([None]) is None


def test_augmented_items_depend_only_on_their_seed(tmp_path):
    write_png(tmp_path / "ab.png", np.random.default_rng(0).integers(0, 256, (30, 60, 3)))
    samples = read_folder(tmp_path)
    cfg = RecognizerConfig()
    ds = CropDataset(samples, check_labels(samples, Charset("ab"), cfg.time_steps), cfg)
    assert torch.equal(ds[(0, 7)][0], ds[(0, 7)][0])
    assert not torch.equal(ds[(0, 7)][0], ds[(0, 8)][0])
    assert not torch.equal(ds[(0, 7)][0], ds[(0, -1)][0])


def test_exif_orientation_is_applied(tmp_path):
    from PIL import Image

    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    img.save(tmp_path / "phone.jpg", exif=exif)
    assert load_image(tmp_path / "phone.jpg").shape == (40, 20, 3)
