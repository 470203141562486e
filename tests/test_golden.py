"""The shipped models on the shipped example: a guard against a refactor or a retrained model that stops reading.

It counts words, so a better model passes too; a broken crop, resize, charset or checkpoint does not.
"""
from pathlib import Path

from ocr.config import load_config
from ocr.pipeline import Pipeline
from recognizer.metrics import fold_text

ROOT = Path(__file__).resolve().parents[1]
# The words drawn into examples/scene.jpg (tools/make_scenes.py --seed 2026), folded
SCENE_WORDS = {"lombardy", "coddles", "prozac", "rutabaga", "428", "orderly", "containing", "maerlc", "prissiest"}


def test_shipped_db_and_words_read_most_of_the_example_scene():
    result = Pipeline.from_config(load_config(overrides={"device": "cpu"}))(str(ROOT / "examples" / "scene.jpg"))
    read = {fold_text(w.text) for w in result.words}
    assert len(read & SCENE_WORDS) >= 6, sorted(read)
    assert len(result.words) <= 2 * len(SCENE_WORDS)  # no flood of false words on a plain background
    assert all(0 <= w.score <= 1 and 0 <= w.det_score <= 1 for w in result.words)


def test_shipped_captcha_reader_reads_the_example_captcha():
    result = Pipeline.from_config(load_config(overrides={"device": "cpu", "recognizer": {"model": "captcha"}}),
                                  detect=False)(str(ROOT / "examples" / "captcha.png"))
    assert [w.text for w in result.words] == ["4eh452"]


def test_shipped_plate_reader_reads_the_example_plate():
    # examples/plate.jpg: a Brazilian Mercosur plate from tools/make_plates.py's validation renders (never trained on)
    cfg = load_config(overrides={"device": "cpu", "recognizer": {"model": "plates", "text_format": "br"}})
    result = Pipeline.from_config(cfg, detect=False)(str(ROOT / "examples" / "plate.jpg"))
    assert [w.text for w in result.words] == ["FNW6V42"]
