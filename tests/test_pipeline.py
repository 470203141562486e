"""The end-to-end pipeline with fake or tiny stages, and ocr-run on whole images."""
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_png
from PIL import Image

from ocr.cli import main
from ocr.pipeline import Pipeline, reading_order, upright_crops


def box(x, y, w, h):
    return np.float32([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])


@dataclass
class FakeDetections:
    quads: np.ndarray
    scores: np.ndarray


@dataclass
class FakeReading:
    text: str
    confidence: float


class FakeDetector:
    def __init__(self, quads):
        self.quads = np.asarray(quads, np.float32)

    def __call__(self, images):
        return [FakeDetections(self.quads, np.linspace(0.9, 0.7, len(self.quads)).astype(np.float32))]


class ShapeReader:
    """Reads a crop as its size, 'WxH'; a crop taller than wide reads with confidence 0.1."""

    def __init__(self):
        self.calls = []

    def __call__(self, crops):
        self.calls.append(len(crops))
        return [FakeReading(f"{c.shape[1]}x{c.shape[0]}", 0.1 if c.shape[0] > c.shape[1] else 0.9) for c in crops]


def test_reading_order_lines_top_to_bottom_words_left_to_right():
    quads = [box(200, 12, 50, 20), box(10, 100, 60, 22), box(10, 10, 80, 20), box(120, 96, 40, 24), box(100, 8, 60, 24)]
    assert reading_order(np.stack(quads)) == [[2, 4, 0], [1, 3]]
    assert reading_order(np.zeros((0, 4, 2))) == []


def test_vertical_word_is_turned_both_ways():
    image = np.zeros((100, 100, 3), np.uint8)
    image[10:70, 40:50] = 255
    image[10:15, 40:50, 0] = 0  # a mark at the top: the two quarter turns differ
    crops = upright_crops(image, box(40, 10, 10, 60))
    assert [c.shape[:2] for c in crops] == [(10, 60), (10, 60)]
    assert not np.array_equal(crops[0], crops[1])
    assert len(upright_crops(image, box(10, 10, 60, 10))) == 1


def test_pipeline_orders_reads_in_one_batch_and_keeps_the_confident_turn():
    quads = [box(100, 10, 60, 20), box(10, 10, 60, 20), box(10, 50, 10, 40)]  # the last one is vertical
    reader = ShapeReader()
    result = Pipeline(FakeDetector(quads), reader)(np.zeros((120, 200, 3), np.uint8))
    assert reader.calls == [4]  # 2 crops + both turns of the vertical one, in one call
    assert [w.text for w in result.words] == ["60x20", "60x20", "40x10"]
    assert [w.det_score for w in result.words] == pytest.approx([0.8, 0.9, 0.7])
    assert result.text == "60x20 60x20\n40x10"
    assert np.array_equal(result.words[0].points, quads[1])


def test_min_confidence_and_empty_readings_are_dropped():
    class Reader:
        def __call__(self, crops):
            return [FakeReading("", 0.99), FakeReading("low", 0.2), FakeReading("ok", 0.8)][: len(crops)]

    quads = [box(10, 10, 40, 10), box(60, 10, 40, 10), box(110, 10, 40, 10)]
    result = Pipeline(FakeDetector(quads), Reader(), min_confidence=0.5)(np.zeros((50, 200, 3), np.uint8))
    assert [w.text for w in result.words] == ["ok"] and result.lines == [[0]]


def test_result_json_schema_and_values(tmp_path):
    write_png(tmp_path / "a.png", np.zeros((40, 120, 3)))
    result = Pipeline(FakeDetector([box(10.26, 5, 50, 20)]), ShapeReader())(str(tmp_path / "a.png"))
    d = json.loads(json.dumps(result.to_dict()))
    assert d == {"width": 120, "height": 40, "words": [
        {"points": [[10.3, 5.0], [60.3, 5.0], [60.3, 25.0], [10.3, 25.0]], "text": "50x20", "score": 0.9,
         "det_score": 0.9}]}


@pytest.fixture(scope="module")
def tiny_models(tiny_files):
    """ocr-run flags for the tiny detector and recognizer (see conftest)."""
    det, rec = tiny_files
    return ["--detector", str(det), "--model", str(rec), "--max-side", "128"]


def odd_images(folder):
    rgb = np.random.default_rng(0).integers(0, 256, (60, 90, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("L").save(folder / "gray.png")
    Image.fromarray(rgb).convert("RGBA").save(folder / "rgba.png")
    Image.fromarray(rgb).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)).save(folder / "deep.png")
    Image.fromarray(rgb[:1, :1]).save(folder / "tiny.png")
    return ["gray.png", "rgba.png", "cmyk.jpg", "deep.png", "tiny.png"]


def absurd_png(path, width=60000, height=60000):
    """A PNG whose header claims a huge size (valid CRC), with no real pixel data behind it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: (struct.pack(">I", len(data)) + kind + data  # noqa: E731
                                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
                     + chunk(b"IEND", b""))


def test_ocr_run_writes_records_and_annotated_images(tiny_models, tmp_path, capsys):
    names = odd_images(tmp_path)
    out = tmp_path / "out.jsonl"
    code = main([str(tmp_path / n) for n in names] + tiny_models + ["--json", str(out), "--out-dir", str(tmp_path / "ann")])
    assert code == 0, capsys.readouterr().err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["image"] for r in records] == [str(tmp_path / n) for n in names]
    for r, n in zip(records, names):
        size = Image.open(tmp_path / n).size
        assert (r["width"], r["height"]) == size and r["seconds"] >= 0
        assert set(r) == {"image", "width", "height", "words", "seconds"}
        for w in r["words"]:
            assert set(w) == {"points", "text", "score", "det_score"} and len(w["points"]) == 4
        assert Image.open(tmp_path / "ann" / n).size == size  # the annotated copy keeps the input's size


def test_ocr_run_names_broken_inputs_and_reads_the_rest(tiny_models, tmp_path, capsys):
    write_png(tmp_path / "good.png", np.zeros((40, 80, 3)))
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    absurd_png(tmp_path / "huge.png")
    inputs = [str(tmp_path / n) for n in ["empty.png", "text.png", "huge.png", "missing.png", "good.png"]]
    code = main(inputs + tiny_models)
    captured = capsys.readouterr()
    assert code == 1
    for name in ["empty.png", "text.png", "huge.png", "missing.png"]:
        assert name in captured.err
    assert "Traceback" not in captured.err
    assert captured.out.startswith(f"{tmp_path / 'good.png'}\t")


def usage_error(capsys, message: str, argv: list[str]) -> None:
    """ocr-run stops with exit code 2 and says why."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_ocr_run_out_for_one_image_and_argument_errors(tiny_models, tmp_path, capsys):
    write_png(tmp_path / "a.png", np.zeros((40, 80, 3)))
    assert main([str(tmp_path / "a.png"), "--out", str(tmp_path / "a-out.jpg")] + tiny_models) == 0
    assert Image.open(tmp_path / "a-out.jpg").size == (80, 40)
    usage_error(capsys, "--out takes one input", [str(tmp_path / "a.png"), str(tmp_path / "a.png"), "--out", str(tmp_path / "x.jpg")])
    usage_error(capsys, "not an image format", [str(tmp_path / "a.png"), "--out", str(tmp_path / "x.unknown")])
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")] + tiny_models) == 1
    assert "folder holds no images" in capsys.readouterr().err


def test_missing_detector_names_the_way_out(tmp_path, capsys):
    write_png(tmp_path / "a.png", np.zeros((40, 80, 3)))
    assert main([str(tmp_path / "a.png"), "--detector", str(tmp_path / "none.pt")]) == 2
    err = capsys.readouterr().err
    assert "none.pt" in err and "--no-detect" in err


def test_spotting_needs_the_right_text():
    from detector.metrics import DetectionScore

    gt = [box(0, 0, 10, 10), box(20, 0, 10, 10)]
    dets = [box(0, 0, 10, 10), box(20, 0, 10, 10)]
    allowed = np.array([[True, False], [False, False]])  # the second box is placed well but misread
    score = DetectionScore()
    assert score.add(gt, [False, False], dets, allowed) == (1, 2, 2)
    assert score.hmean == pytest.approx(0.5)


@pytest.fixture(scope="module")
def reads_a(tmp_path_factory):
    """A recognizer that reads every crop as "a" with confidence ~1 (its head says 'a' on every frame)."""
    from recognizer.charset import Charset
    from recognizer.checkpoint import make_checkpoint
    from recognizer.config import RecognizerConfig
    from recognizer.model import CRNN

    model = CRNN(RecognizerConfig(width_mult=0.125, hidden=16), 4).eval()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([0.0, 30.0, 0.0, 0.0]))  # blank, a, b, c
    path = tmp_path_factory.mktemp("reads-a") / "a.pt"
    torch.save(make_checkpoint(model, Charset("abc")), path)
    return str(path)


def eval_one_photo(tmp_path, capsys, truth: str, detector: str, recognizer: str) -> dict:
    """ocr-eval's JSON on one grey image labelled with one word, ``truth``, over most of it, and one '###'."""
    from ocr.evaluate import main as eval_main

    (tmp_path / "images").mkdir()
    write_png(tmp_path / "images" / "img_1.png", np.full((64, 128, 3), 127))
    # one word covering most of the image (the tiny detector finds one box over everything), one '###'
    (tmp_path / "labels.jsonl").write_text(json.dumps({"image": "img_1.png", "words": [
        {"points": [[2, 2], [125, 2], [125, 61], [2, 61]], "text": truth},
        {"points": [[0, 0], [4, 0], [4, 4], [0, 4]], "text": "###"}], "lines": ["a", "b b"]}) + "\n")
    (tmp_path / "cfg.yaml").write_text("detector:\n  unclip_ratio: 0.01\n")  # the one box stays the image's size
    code = eval_main([str(tmp_path), "--json", "--detector", detector, "--model", recognizer,
                      "--config", str(tmp_path / "cfg.yaml")])
    assert code == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("truth,spotted", [("A!", 1.0), ("b", 0.0)])
def test_ocr_eval_scores_a_labelled_folder_of_photos(tiny_models, reads_a, tmp_path, capsys, truth, spotted):
    out = eval_one_photo(tmp_path, capsys, truth, tiny_models[1], reads_a)
    assert out["images"] == 1 and out["recognition_words"] == 1
    assert (out["detection"]["precision"], out["detection"]["recall"]) == (1.0, 1.0)
    # "a" is the right reading of "A!" once folded, the wrong one of "b"
    assert out["end_to_end"]["recall"] == out["end_to_end"]["precision"] == out["recognition_accuracy"] == spotted
    assert out["seconds_p90"] >= out["seconds_median"] > 0
    assert (out["line_accuracy"], out["lines"]) == (0.5, 2)  # the page prints one line, "a"
    assert out["detection_words"] == out["detection"]


def test_ocr_eval_reports_detection_without_boxes_of_punctuation_alone(tiny_models, reads_a, tmp_path, capsys):
    out = eval_one_photo(tmp_path, capsys, ":", tiny_models[1], reads_a)
    assert (out["detection"]["num_gt"], out["detection"]["recall"], out["detection"]["precision"]) == (1, 1.0, 1.0)
    # the ':' box is not counted, nor the detection on it: nothing is left to find or to find wrongly
    assert (out["detection_words"]["num_gt"], out["detection_words"]["num_det"]) == (0, 0)
    assert out["recognition_words"] == 0


def test_ocr_eval_scores_a_folder_of_crops(reads_a, tmp_path, capsys):
    from ocr.evaluate import main as eval_main

    for name in ("a_1.png", "A_2.png", "ab_3.png", "c_4.png"):
        write_png(tmp_path / name, np.full((20, 50, 3), 200))
    (tmp_path / "broken_5.png").write_bytes(b"")
    assert eval_main([str(tmp_path), "--model", reads_a, "--json", "--errors", str(tmp_path / "err.tsv")]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert (out["count"], out["unreadable"]) == (4, 1) and "broken_5.png" in captured.err
    assert out["seq_acc"] == 0.25 and out["folded_seq_acc"] == 0.5  # "a" is right for a, and for A once folded
    assert out["char_acc"] == pytest.approx(1 - 3 / 5)  # distances 0, 1, 1, 1 over 5 characters
    assert len((tmp_path / "err.tsv").read_text().splitlines()) == 1 + 3


def test_ocr_run_refuses_unwritable_or_clashing_outputs(tiny_models, tmp_path, capsys):
    write_png(tmp_path / "a.png", np.zeros((40, 80, 3)))
    (tmp_path / "sub").mkdir()
    write_png(tmp_path / "sub" / "a.png", np.zeros((40, 80, 3)))
    assert main([str(tmp_path / "a.png"), "--json", str(tmp_path / "no" / "dir" / "x.jsonl")] + tiny_models) == 2
    assert "cannot write" in capsys.readouterr().err
    usage_error(capsys, "several inputs would write",  # two inputs named a.png would overwrite each other
                [str(tmp_path / "a.png"), str(tmp_path / "sub" / "a.png"), "--out-dir", str(tmp_path / "ann")])
    usage_error(capsys, "would overwrite the input images", [str(tmp_path / "a.png"), "--out-dir", str(tmp_path)])
    usage_error(capsys, "not an image format", [str(tmp_path / "a.png"), "--out", str(tmp_path / "a.psd")])  # Pillow reads PSD, cannot write it
    assert main([str(tmp_path / "a.png"), "--config", str(tmp_path / "sub")] + tiny_models) == 2
    assert "cannot read config file" in capsys.readouterr().err


def test_ocr_eval_handles_an_image_without_words(tiny_models, tmp_path, capsys):
    from ocr.evaluate import main as eval_main

    (tmp_path / "images").mkdir()
    write_png(tmp_path / "images" / "empty.png", np.full((64, 128, 3), 127))
    (tmp_path / "labels.jsonl").write_text(json.dumps({"image": "empty.png", "words": []}) + "\n")
    assert eval_main([str(tmp_path), "--json", "--detector", tiny_models[1], "--model", tiny_models[3]]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["detection"]["num_gt"] == 0 and out["detection"]["recall"] == 1.0 and out["recognition_words"] == 0


def test_pdf_pages_and_tiff_frames_are_images_of_their_own(tiny_models, tmp_path, capsys):
    pytest.importorskip("pypdfium2")
    rng = np.random.default_rng(2)
    pages = [Image.fromarray(rng.integers(0, 256, (h, 120, 3), dtype=np.uint8)) for h in (80, 100)]
    # The TIFF first: in Pillow 13, a multi-page TIFF saved after a PDF in the same process fails to encode.
    pages[0].save(tmp_path / "scan.tif", save_all=True, append_images=pages[1:])
    pages[0].save(tmp_path / "doc.pdf", save_all=True, append_images=pages[1:], resolution=72)
    write_png(tmp_path / "plain.png", np.zeros((40, 80, 3)))
    code = main([str(tmp_path / n) for n in ("doc.pdf", "scan.tif", "plain.png")] + tiny_models
                + ["--json", str(tmp_path / "out.jsonl"), "--out-dir", str(tmp_path / "ann"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(Path(r["image"]).name, r.get("page")) for r in records] == [
        ("doc.pdf", 1), ("doc.pdf", 2), ("scan.tif", 1), ("scan.tif", 2), ("plain.png", None)]
    pdf_dpi = 150 / 72  # a 72-dpi page rendered at 150 dpi
    assert abs(records[1]["width"] - 120 * pdf_dpi) <= 1 and abs(records[1]["height"] - 100 * pdf_dpi) <= 1
    assert (records[3]["width"], records[3]["height"]) == (120, 100)
    assert sorted(p.name for p in (tmp_path / "ann").iterdir()) == [
        "doc-page1.png", "doc-page2.png", "plain.png", "scan-page1.png", "scan-page2.png"]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"{tmp_path / 'doc.pdf'}#page=1\t")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 nothing")
    assert main([str(tmp_path / "bad.pdf")] + tiny_models) == 1
    assert "bad.pdf: cannot read PDF" in capsys.readouterr().err


def test_hocr_holds_pages_lines_and_words_with_boxes(tmp_path, capsys, monkeypatch):
    import xml.etree.ElementTree as ET

    import ocr.cli as cli

    quads = [box(100, 10, 60, 20), box(10, 10, 60, 20), box(10, 50, 80, 20)]

    class Fixed:
        detect, batch_size = True, 4

        def read_batch(self, images, min_confidence=None):
            return [Pipeline(FakeDetector(quads), ShapeReader()).read_batch([i])[0] for i in images]

    monkeypatch.setattr(cli, "_start_worker", lambda cfg, detect, workers: cli._WORKER.update(
        pipeline=Fixed(), cfg=cfg, error=None))
    for n in (1, 2):
        write_png(tmp_path / f"p{n}.png", np.zeros((100, 200, 3)))
    assert main([str(tmp_path / "p1.png"), str(tmp_path / "p2.png"), "--format", "hocr", "--quiet"]) == 0
    root = ET.fromstring(capsys.readouterr().out)
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    pages = root.findall(".//h:div[@class='ocr_page']", ns)
    assert len(pages) == 2 and pages[1].get("title") == f'image "{tmp_path / "p2.png"}"; bbox 0 0 200 100; ppageno 1'
    lines = pages[0].findall("h:span[@class='ocr_line']", ns)
    assert [[w.text for w in line] for line in lines] == [["60x20", "60x20"], ["80x20"]]
    assert lines[0].get("title") == "bbox 10 10 160 30"
    assert lines[0][0].get("title") == "bbox 10 10 70 30; x_wconf 90"


def test_two_columns_are_read_one_after_the_other():
    title = [box(10, 5, 120, 20), box(140, 5, 100, 20)]
    left = [box(10, 40 + 25 * k, 60, 18) for k in range(3)] + [box(80, 40 + 25 * k, 50, 18) for k in range(3)]
    right = [box(200, 40 + 25 * k, 70, 18) for k in range(3)]
    order = reading_order(np.stack(title + left + right))
    assert order == [[0, 1], [2, 5], [3, 6], [4, 7], [8], [9], [10]]  # title; left column's lines; right column's


def test_words_far_apart_on_one_height_are_separate_lines():
    assert reading_order(np.stack([box(10, 10, 40, 20), box(300, 12, 40, 20), box(60, 10, 40, 20)])) == [[0, 2], [1]]


def test_right_aligned_values_join_their_items_but_ragged_short_lines_do_not():
    # a receipt: items of one or two words on the left, prices of different widths ending at x = 400
    items = [[box(10, 10, 60, 20)], [box(10, 40, 50, 20), box(70, 40, 40, 20)], [box(10, 70, 90, 20)],
             [box(10, 100, 30, 20)]]
    prices = [box(400 - w, 10 + 30 * k, w, 20) for k, w in enumerate((50, 40, 60, 50))]
    quads = [q for row in items for q in row] + prices
    assert reading_order(np.stack(quads)) == [[0, 5], [1, 2, 6], [3, 7], [4, 8]]
    # a quantity column ending at x = 250 as well: each row reads item, quantity, price
    quantities = [box(250 - w, 10 + 30 * k, w, 20) for k, w in enumerate((20, 40, 30, 20))]
    assert reading_order(np.stack(quads + quantities)) == [[0, 9, 5], [1, 2, 10, 6], [3, 11, 7], [4, 12, 8]]
    # the same lone words ending ragged (the short last lines of a column of prose) stay lines of their own
    ragged = [box(300, 10 + 30 * k, w, 20) for k, w in enumerate((50, 20, 70, 35))]
    assert reading_order(np.stack([q for row in items for q in row] + ragged)) == [[0], [1, 2], [3], [4], [5], [6],
                                                                                   [7], [8]]


def test_a_short_word_standing_higher_does_not_split_its_line():
    # "Please pay of days": "pay" reaches lower (descender), "of" higher (no descender, ascender only)
    quads = [box(10, 10, 50, 20), box(70, 10, 50, 26), box(130, 6, 20, 20), box(160, 10, 50, 20)]
    assert reading_order(np.stack(quads)) == [[0, 1, 2, 3]]


def test_lines_of_a_skewed_page_are_followed_along_their_slope():
    # two lines of 8 words rising 6 px a word (about 7 degrees): 42 px from end to end, twice a word's height
    rows = [[box(10 + 50 * k, top - 6 * k, 40, 20) for k in range(8)] for top in (100, 140)]
    order = reading_order(np.stack(rows[0] + rows[1]))
    assert order == [list(range(8)), list(range(8, 16))]


def test_layout_evaluation_counts_the_lines_read_exactly(tmp_path, capsys):
    import eval_layout

    def word(text, x, y):
        return {"text": text, "points": box(x, y, 40, 20).tolist()}

    # the truth's second line is "c d", but c and d stand too far apart to be read as one line
    record = {"layout": "form", "words": [word("a", 10, 10), word("b", 60, 10), word("c", 10, 50), word("d", 400, 50)],
              "lines": ["a b", "c d"]}
    assert eval_layout.line_hits(record) == (1, 2)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps(record) + "\n" + json.dumps({**record, "lines": ["a b", "c", "d"]}) + "\n")
    assert eval_layout.main([str(labels)]) == 0
    assert capsys.readouterr().out == f"{labels}: lines exact 0.800 of 5 (form 0.800)\n"
