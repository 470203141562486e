from pathlib import Path

import pytest

from ocr.config import DEFAULT_CONFIG, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_pipeline_yaml_lists_every_setting_with_its_default():
    """The one pipeline.yaml documents the defaults, which live in the stages' settings dataclasses."""
    import yaml

    from ocr.config import PipelineConfig

    listed = yaml.safe_load(DEFAULT_CONFIG.read_text())
    assert load_config(DEFAULT_CONFIG) == PipelineConfig()
    defaults = PipelineConfig()
    for section, keys in listed.items():
        if isinstance(keys, dict):
            assert set(keys) == set(vars(getattr(defaults, section))), section
    assert set(listed) == set(vars(defaults))
    assert not (ROOT / "pipeline.yaml").exists()  # one file: a second copy drifts


def test_defaults():
    cfg = load_config()
    assert cfg.device == "auto"
    assert (cfg.recognizer.model, cfg.recognizer.decoder, cfg.recognizer.beam_width) == ("words", "auto", 10)
    assert (cfg.recognizer.language_model, cfg.recognizer.lm_weight, cfg.recognizer.length_bonus) == ("auto", 0.4, 0.75)
    assert cfg.recognizer.word_bonus == 1.5


def test_user_file_overrides_a_subset_and_flags_override_the_file(tmp_path):
    user = tmp_path / "mine.yaml"
    user.write_text("recognizer:\n  decoder: beam\n  beam_width: 4\n")
    cfg = load_config(user, {"recognizer": {"beam_width": 7}})
    assert (cfg.recognizer.decoder, cfg.recognizer.beam_width, cfg.recognizer.model) == ("beam", 7, "words")


@pytest.mark.parametrize("text,key", [
    ("colour: red\n", "colour"),
    ("recognizer:\n  modle: x\n", "recognizer.modle"),
    ("recognizer:\n  beam_width: 0\n", "recognizer.beam_width"),
    ("recognizer:\n  min_confidence: 2\n", "recognizer.min_confidence"),
    ("recognizer:\n  decoder: fast\n", "recognizer.decoder"),
    ("recognizer:\n  text_format: LLX\n", "recognizer.text_format"),
    ("device: tpu\n", "device"),
    ("recognizer: 3\n", "recognizer"),
])
def test_bad_keys_and_values_name_the_key(tmp_path, text, key):
    user = tmp_path / "bad.yaml"
    user.write_text(text)
    with pytest.raises(ConfigError, match=f"^{key}"):
        load_config(user)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
