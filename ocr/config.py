"""pipeline.yaml -> frozen dataclasses. Read once at the edge, passed down as plain values."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import yaml

DEFAULT_CONFIG = Path(__file__).parent / "pipeline.yaml"


class ConfigError(ValueError):
    """A configuration key or value is not valid; the message names the key."""


@dataclass(frozen=True)
class DetectorSettings:
    model: str = "db"
    max_side: int = 1280
    bin_thresh: float = 0.5
    box_thresh: float = 0.7
    unclip_ratio: float = 1.5


@dataclass(frozen=True)
class DrawSettings:
    line_width: int | None = None
    font_size: int | None = None


@dataclass(frozen=True)
class RecognizerSettings:
    model: str = "words"
    decoder: str = "greedy"
    beam_width: int = 10
    min_confidence: float = 0.5
    batch_size: int = 64


@dataclass(frozen=True)
class PipelineConfig:
    device: str = "auto"
    detector: DetectorSettings = DetectorSettings()
    recognizer: RecognizerSettings = RecognizerSettings()
    draw: DrawSettings = DrawSettings()


def _number(v, low: float, high: float) -> bool:
    return type(v) in (int, float) and low <= v <= high


def _size(v) -> bool:
    return v is None or (type(v) is int and v >= 1)


def _check(cfg: PipelineConfig) -> PipelineConfig:
    d, r, w = cfg.detector, cfg.recognizer, cfg.draw
    checks = [
        ("device", cfg.device in ("auto", "cpu", "cuda"), "auto, cpu or cuda"),
        ("detector.model", isinstance(d.model, str) and d.model != "", "a model name or a file path"),
        ("detector.max_side", type(d.max_side) is int and d.max_side >= 32, "an integer >= 32"),
        ("detector.bin_thresh", _number(d.bin_thresh, 0, 1), "a number from 0 to 1"),
        ("detector.box_thresh", _number(d.box_thresh, 0, 1), "a number from 0 to 1"),
        ("detector.unclip_ratio", _number(d.unclip_ratio, 0.01, 10), "a number from 0.01 to 10"),
        ("draw.line_width", _size(w.line_width), "null (automatic) or an integer >= 1"),
        ("draw.font_size", _size(w.font_size), "null (automatic) or an integer >= 1"),
        ("recognizer.model", isinstance(r.model, str) and r.model != "", "a model name or a file path"),
        ("recognizer.decoder", r.decoder in ("greedy", "beam"), "greedy or beam"),
        ("recognizer.beam_width", type(r.beam_width) is int and r.beam_width >= 1, "an integer >= 1"),
        ("recognizer.min_confidence", _number(r.min_confidence, 0, 1), "a number from 0 to 1"),
        ("recognizer.batch_size", type(r.batch_size) is int and r.batch_size >= 1, "an integer >= 1"),
    ]
    for key, ok, expected in checks:
        if not ok:
            value = cfg
            for part in key.split("."):
                value = getattr(value, part)
            raise ConfigError(f"{key}: expected {expected}, got {value!r}")
    return cfg


def _merge(obj, data: dict, prefix: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping of keys, got {data!r}")
    known = {f.name: f for f in fields(obj)}
    changes = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{prefix}{key}: unknown key (known: {', '.join(known)})")
        current = getattr(obj, key)
        if hasattr(current, "__dataclass_fields__"):
            changes[key] = _merge(current, value or {}, f"{prefix}{key}.")
        else:
            changes[key] = value
    return replace(obj, **changes)


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> PipelineConfig:
    """The packaged defaults, then the user's YAML file (any subset of keys), then ``overrides``.

    ``overrides`` is a nested dict like the YAML (``{"recognizer": {"model": "captcha-v2"}}``).
    """
    cfg = _merge(PipelineConfig(), yaml.safe_load(DEFAULT_CONFIG.read_text()) or {}, "")
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read config file ({e.__class__.__name__}: {e})") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
        cfg = _merge(cfg, data or {}, "")
    if overrides:
        cfg = _merge(cfg, overrides, "")
    return _check(cfg)
