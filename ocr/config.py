"""pipeline.yaml -> frozen dataclasses. Read once at the edge, passed down as plain values."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

import yaml

DEFAULT_CONFIG = Path(__file__).parent / "pipeline.yaml"


class ConfigError(ValueError):
    """A configuration key or value is not valid; the message names the key."""


@dataclass(frozen=True)
class RecognizerSettings:
    model: str = "words"
    decoder: str = "greedy"
    beam_width: int = 10
    min_confidence: float = 0.0
    batch_size: int = 64


@dataclass(frozen=True)
class PipelineConfig:
    device: str = "auto"
    recognizer: RecognizerSettings = RecognizerSettings()


def _check(cfg: PipelineConfig) -> PipelineConfig:
    r = cfg.recognizer
    checks = [
        ("device", cfg.device in ("auto", "cpu", "cuda"), "auto, cpu or cuda"),
        ("recognizer.model", isinstance(r.model, str) and r.model != "", "a model name or a file path"),
        ("recognizer.decoder", r.decoder in ("greedy", "beam"), "greedy or beam"),
        ("recognizer.beam_width", type(r.beam_width) is int and r.beam_width >= 1, "an integer >= 1"),
        ("recognizer.min_confidence", type(r.min_confidence) in (int, float) and 0 <= r.min_confidence <= 1,
         "a number from 0 to 1"),
        ("recognizer.batch_size", type(r.batch_size) is int and r.batch_size >= 1, "an integer >= 1"),
    ]
    for key, ok, expected in checks:
        if not ok:
            value = getattr(cfg, key) if "." not in key else getattr(r, key.split(".")[1])
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
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
        cfg = _merge(cfg, data or {}, "")
    if overrides:
        cfg = _merge(cfg, overrides, "")
    return _check(cfg)
