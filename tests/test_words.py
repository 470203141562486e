"""Word-crop tools: the synthetic generator, the perspective crop, and folded evaluation."""
import filecmp

import cv2
import numpy as np
import pytest
from captcha.image import DEFAULT_FONTS
from PIL import Image, ImageDraw, ImageFont

import make_words
import synth.text as synth_text
from ocr.crop import crop_quad, quad_size
from recognizer.dataset import read_folder
from recognizer.metrics import fold_text, text_metrics

FONT = DEFAULT_FONTS[0]  # DroidSansMono, shipped inside the `captcha` dependency: always there offline


@pytest.fixture
def word_args(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("apple\nBanana\nzebra's\ncafé\nkiwi\n")  # the possessive and the accented word are left out
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "droid.ttf").write_bytes(open(FONT, "rb").read())
    return ["--words", str(words), "--fonts", str(fonts), "--photos", str(tmp_path / "no-photos")]


def test_generator_is_deterministic_and_respects_the_charset(tmp_path, word_args):
    make_words.main(["--out", str(tmp_path / "a"), "-n", "12", "--seed", "3"] + word_args)
    make_words.main(["--out", str(tmp_path / "b"), "-n", "12", "--seed", "3", "--workers", "2"] + word_args)
    make_words.main(["--out", str(tmp_path / "c"), "-n", "12", "--seed", "4"] + word_args)
    a, b = (tmp_path / "a" / "labels.tsv").read_text(), (tmp_path / "b" / "labels.tsv").read_text()
    assert a == b and a != (tmp_path / "c" / "labels.tsv").read_text()
    names = [line.split("\t")[0] for line in a.splitlines()]
    assert all(filecmp.cmp(tmp_path / "a" / "images" / n, tmp_path / "b" / "images" / n, shallow=False) for n in names)
    samples = read_folder(tmp_path / "a")
    assert len(samples) == 12
    for s in samples:
        assert s.text and set(s.text) <= set(synth_text.WORDS_CHARSET) and len(s.text) <= synth_text.MAX_LEN
        assert Image.open(s.path).height <= synth_text.OUT_HEIGHT


def test_short_texts_are_one_to_three_characters_of_the_charset(tmp_path, word_args):
    rng = np.random.default_rng(0)
    texts = [synth_text.short_text(rng) for _ in range(400)]
    assert all(1 <= len(t) <= 3 and set(t) <= set(synth_text.WORDS_CHARSET) for t in texts)
    assert sum(len(t) == 1 for t in texts) > 120  # letters, digits and signs alone: the word list's blind spot
    make_words.main(["--out", str(tmp_path / "s"), "-n", "20", "--seed", "1", "--short", "1"] + word_args)
    assert all(len(s.text) <= 3 for s in read_folder(tmp_path / "s"))
    with pytest.raises(SystemExit):
        make_words.main(["--out", str(tmp_path / "t"), "-n", "1", "--short", "2"] + word_args)


def test_word_list_keeps_plain_ascii_words(word_args):
    assert synth_text.load_words(word_args[1]) == ("Banana", "apple", "kiwi")


def test_plain_rendering_draws_the_label(tmp_path, word_args):
    make_words.main(["--out", str(tmp_path), "-n", "1", "--seed", "0", "--plain"] + word_args)
    [sample] = read_folder(tmp_path)
    written = cv2.imread(str(sample.path), cv2.IMREAD_GRAYSCALE).astype(int)
    # An independent rendering of the label: plain PIL text, black on white, 10 px from the ink box.
    font = ImageFont.truetype(FONT, 40)
    left, top, right, bottom = font.getbbox(sample.text)
    expected = Image.new("L", (right - left + 20, bottom - top + 20), 255)
    ImageDraw.Draw(expected).text((10 - left, 10 - top), sample.text, font=font, fill=0)
    expected = np.asarray(expected, dtype=int)
    if expected.shape[0] > synth_text.OUT_HEIGHT:  # the generator caps the height the same way
        scale = synth_text.OUT_HEIGHT / expected.shape[0]
        expected = cv2.resize(expected.astype(np.uint8), (round(expected.shape[1] * scale), synth_text.OUT_HEIGHT),
                              interpolation=cv2.INTER_AREA).astype(int)
    assert written.shape == expected.shape
    assert np.abs(written - expected).mean() < 3  # JPEG noise only


def test_missing_fonts_fail_clearly(tmp_path, word_args):
    args = word_args[:]
    args[3] = str(tmp_path / "nowhere")
    with pytest.raises(SystemExit, match="no usable fonts"):
        make_words.main(["--out", str(tmp_path / "o"), "-n", "1"] + args)


def test_axis_aligned_crop_equals_the_slice():
    img = np.random.default_rng(0).integers(0, 256, (50, 80, 3), dtype=np.uint8)
    quad = np.float32([[10, 5], [40, 5], [40, 25], [10, 25]])
    assert quad_size(quad) == (30, 20)
    assert np.array_equal(crop_quad(img, quad), img[5:25, 10:40])


def test_rotated_quad_is_cut_upright():
    # A 60x20 bar, bright on its left third, drawn rotated by 30 degrees.
    img = np.zeros((200, 200), np.uint8)
    rect = ((100.0, 100.0), (60.0, 20.0), 30.0)
    corners = cv2.boxPoints(rect)
    cv2.fillPoly(img, [np.round(corners).astype(np.int32)], 80)
    left_part = cv2.boxPoints(((100.0 - 20 * np.cos(np.pi / 6), 100.0 - 20 * np.sin(np.pi / 6)), (20.0, 20.0), 30.0))
    cv2.fillPoly(img, [np.round(left_part).astype(np.int32)], 250)
    # clockwise from the bar's top-left, as the detector orders points
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    quad = np.float32([[100 + dx * c - dy * s, 100 + dx * s + dy * c] for dx, dy in [(-30, -10), (30, -10), (30, 10), (-30, 10)]])
    crop = crop_quad(img, quad)
    assert crop.shape == (20, 60)
    assert crop[4:16, 3:17].min() >= 200  # the bright third stays on the left
    assert np.abs(crop[4:16, 24:57].astype(int) - 80).max() <= 10  # the rest of the bar, upright


def test_folded_comparison_rules():
    assert fold_text("Hello, World!") == "helloworld"
    assert fold_text("$12.50") == "1250"
    m = text_metrics([fold_text(p) for p in ["STOP", "cafe.", "Exit"]], [fold_text(t) for t in ["stop", "CAFE", "exlt"]])
    assert m["seq_acc"] == pytest.approx(2 / 3)


def test_scene_generator_quads_hold_the_ink(tmp_path, word_args):
    import json

    import make_scenes

    make_scenes.main(["--out", str(tmp_path / "a"), "-n", "2", "--seed", "5", "--plain"] + word_args)
    make_scenes.main(["--out", str(tmp_path / "b"), "-n", "2", "--seed", "5", "--plain", "--workers", "2"] + word_args)
    assert (tmp_path / "a" / "labels.jsonl").read_text() == (tmp_path / "b" / "labels.jsonl").read_text()
    for line in (tmp_path / "a" / "labels.jsonl").read_text().splitlines():
        record = json.loads(line)
        image = cv2.imread(str(tmp_path / "a" / "images" / record["image"]), cv2.IMREAD_GRAYSCALE).astype(int)
        assert record["words"]
        outside = np.ones(image.shape, bool)
        for word in record["words"]:
            quad = np.round(np.array(word["points"])).astype(np.int32)
            inside = np.zeros(image.shape, np.uint8)
            cv2.fillPoly(inside, [quad], 1)
            assert (np.abs(image[inside > 0] - 200) > 60).sum() >= 5  # ink inside each quad
            cv2.fillPoly(outside.view(np.uint8), [quad], 0)
            cv2.polylines(outside.view(np.uint8), [quad], True, 0, 7)  # allow antialiasing at the edge
        assert np.abs(image[outside] - 200).max() <= 12  # the flat grey background, JPEG noise only


def test_foreign_words_keep_their_accents_and_fonts_must_draw_every_character(tmp_path):
    (tmp_path / "french").write_text("café\nété\nabc\nnaïve's\n")
    (tmp_path / "polish").write_text("łódź\nzupełnie\n")
    assert synth_text.load_foreign_words(str(tmp_path)) == (("café", "été"), ("zupełnie", "łódź"))
    glyphs = synth_text.font_glyphs(FONT)
    assert set("abcXYZ019") <= glyphs and glyphs <= set(synth_text.WORDS_CHARSET)
    res = synth_text.Resources(("x",), ("ascii.ttf", "full.ttf"), (), glyphs=(frozenset("abcdef"), frozenset("abcdeféł")))
    rng = np.random.default_rng(0)
    assert {synth_text.pick_font(rng, res, "décé") for _ in range(20)} == {1}
    assert synth_text.pick_font(rng, res, "ζ") is None


def caps_only_font(path):
    """DroidSansMono with every lower-case letter mapped to its capital's glyph, as Bebas Neue draws."""
    from fontTools.ttLib import TTFont

    font = TTFont(FONT)
    for table in font["cmap"].tables:
        for c in "abcdefghijklmnopqrstuvwxyz":
            if ord(c.upper()) in table.cmap:
                table.cmap[ord(c)] = table.cmap[ord(c.upper())]
    font.save(str(path))
    return path


def test_a_caps_only_face_is_labelled_with_the_capitals_it_draws(tmp_path, word_args):
    caps = str(caps_only_font(tmp_path / "fonts" / "caps.ttf"))
    assert synth_text.caps_only(caps) and not synth_text.caps_only(FONT)
    res = synth_text.load_resources(word_args[1], [str(tmp_path / "fonts")], [], quiet=True)
    i = res.fonts.index(caps)
    assert res.caps[i] and not res.caps[1 - i]
    assert synth_text.as_drawn(res, i, "Kiwi") == "KIWI" and synth_text.as_drawn(res, 1 - i, "Kiwi") == "Kiwi"
    make_words.main(["--out", str(tmp_path / "out"), "-n", "40", "--seed", "1", "--plain", *word_args])
    rows = [line.split("\t") for line in (tmp_path / "out" / "labels.tsv").read_text().splitlines()]
    drawn = [(text, cv2.imread(str(tmp_path / "out" / "images" / name))) for name, text in rows]

    def drew(text, image, index):  # the face's drawing of the label is the image (saved as JPEG)
        plain = synth_text.render_plain(text, res.fonts[index])
        return plain.shape == image.shape and np.abs(plain.astype(int) - image).mean() < 2

    lower = [(text, image) for text, image in drawn if text != text.upper()]
    assert len(lower) >= 5
    for text, image in lower:  # a label with small letters was drawn by the face that has them, never by caps
        assert drew(text, image, 1 - i) and not drew(text, image, i), text
    assert any(drew(text, image, i) for text, image in drawn)  # the caps face drew some (upper-case labels)


def test_plate_generator_is_deterministic_and_labels_only_letters_and_digits(tmp_path):
    import make_plates

    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "BebasNeue-Bold.ttf").write_bytes(open(FONT, "rb").read())  # any face, under a plate face's name
    args = ["-n", "14", "--seed", "4", "--fonts", str(fonts), "--photos", str(tmp_path / "none")]
    make_plates.main(["--out", str(tmp_path / "a")] + args)
    make_plates.main(["--out", str(tmp_path / "b"), "--workers", "2"] + args)
    a = (tmp_path / "a" / "labels.tsv").read_text()
    assert a == (tmp_path / "b" / "labels.tsv").read_text()
    for line in a.splitlines():
        name, label = line.split("\t")
        fmt = name.rsplit("_", 1)[0]
        assert fmt in make_plates.FORMATS and set(label) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        assert 5 <= len(label) <= 8 and Image.open(tmp_path / "a" / "images" / name).height <= 64
        if fmt == "br-mercosur":
            assert label[:3].isalpha() and label[3].isdigit() and label[4].isalpha() and label[5:].isdigit()
    make_plates.main(["--out", str(tmp_path / "c"), "--formats", "ar-old"] + args)
    labels = [line.split("\t")[1] for line in (tmp_path / "c" / "labels.tsv").read_text().splitlines()]
    assert all(len(t) == 6 and t[:3].isalpha() and t[3:].isdigit() for t in labels)


def test_pages_have_exact_boxes_and_their_lines_in_reading_order(tmp_path, word_args):
    import json

    import make_pages

    common = ["-n", "6", "--seed", "2", "--clean"] + word_args[:4]  # pages need no photos
    make_pages.main(["--out", str(tmp_path / "a")] + common)
    make_pages.main(["--out", str(tmp_path / "b"), "--workers", "2"] + common)
    a, b = (tmp_path / "a" / "labels.jsonl").read_text(), (tmp_path / "b" / "labels.jsonl").read_text()
    assert a == b
    records = [json.loads(line) for line in a.splitlines()]
    assert [r["layout"] for r in records] == list(make_pages.LAYOUTS)
    for r in records:
        image = cv2.imread(str(tmp_path / "a" / "images" / r["image"]), cv2.IMREAD_GRAYSCALE)
        h, w = image.shape
        # every word of the page is in exactly one of its lines, in the order they were written
        assert " ".join(r["lines"]).split() == [word["text"] for word in r["words"]]
        for word in r["words"]:
            (x0, y0), (x1, y1) = np.min(word["points"], 0), np.max(word["points"], 0)
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            box = image[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))]
            paper = np.median(image)
            assert np.abs(box.astype(int) - paper).max() > 60  # ink inside every box


def test_page_words_are_cut_into_their_own_folder(tmp_path, word_args):
    import json

    import make_pages
    import prepare_real_words

    make_pages.main(["--out", str(tmp_path / "pages"), "-n", "2", "--seed", "4", "--clean"] + word_args[:4])
    prepare_real_words.main(["--pages", str(tmp_path / "pages"), "--out", str(tmp_path / "out")])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pages"]  # no real-word folders made
    records = [json.loads(line) for line in (tmp_path / "pages" / "labels.jsonl").read_text().splitlines()]
    words = {(r["image"][:-4], k): w for r in records for k, w in enumerate(r["words"])}
    samples = read_folder(tmp_path / "out" / "pages")
    for s in samples:  # pages_<page>_<word index>_box.jpg holds that word
        page, k = s.path.stem.removeprefix("pages_").removesuffix("_box").rsplit("_", 1)
        assert s.text == words[page, int(k)]["text"]
        assert cv2.imread(str(s.path)).shape[0] <= 64
    upright = [w for w in words.values() if len(w["text"]) == 1
               or quad_size(np.float32(w["points"]))[1] < 1.5 * quad_size(np.float32(w["points"]))[0]]
    assert len(samples) == len(upright) > 50  # every word but those standing on end
