"""Settings: each stage's own settings dataclass (its tuned defaults), held whole by PipelineConfig.

Read once at the edge (the commands) and passed down as plain values. The defaults live in the dataclasses;
``pipeline.yaml`` inside this package lists every key with its default and what it does (a test keeps the
two equal). A user's YAML file may set any subset; command-line flags override both. Torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import yaml

from detector.config import DetectorSettings
from recognizer.config import RecognizerSettings

DEFAULT_CONFIG = Path(__file__).parent / "pipeline.yaml"
DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("auto", "torch", "onnx")


class ConfigError(ValueError):
    """A configuration key or value is not valid; the message names the key (never a file's content)."""


@dataclass(frozen=True)
class DrawSettings:
    line_width: int | None = None  # outline width in pixels; None scales it with the image
    font_size: int | None = None  # label text size in pixels; None scales it with the image
    layout: str = "auto"  # labels by the words, a text panel beside the image, or auto: the panel for small print

    def __post_init__(self):
        for key in ("line_width", "font_size"):
            value = getattr(self, key)
            if not (value is None or (type(value) is int and value >= 1)):
                raise ValueError(f"{key}: expected null (automatic) or an integer >= 1, got {value!r}")
        if self.layout not in ("auto", "labels", "panel"):
            raise ValueError(f"layout: expected auto, labels or panel, got {self.layout!r}")


@dataclass(frozen=True)
class PipelineConfig:
    device: str = "auto"  # where the models run: auto (CUDA when available), cpu or cuda
    backend: str = "auto"  # torch, onnx (onnxruntime, CPU), or auto: onnx where installed and exported, on a CPU
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    recognizer: RecognizerSettings = field(default_factory=RecognizerSettings)
    draw: DrawSettings = field(default_factory=DrawSettings)

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ValueError(f"device: expected auto, cpu or cuda, got {self.device!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend: expected auto, torch or onnx, got {self.backend!r}")


def _describe(value) -> str:
    """A value's type for an error message: never the value itself when it may be a whole file."""
    return repr(value) if isinstance(value, (int, float, str, bool, type(None))) and len(repr(value)) <= 60 \
        else f"a {type(value).__name__}"


def _merge(obj, data, prefix: str):
    """``obj`` (a settings dataclass) with ``data``'s keys applied; ConfigError names the bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping of keys, got {_describe(data)}")
    known = {f.name for f in fields(obj)}
    changes = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{prefix}{key}: unknown key (known: {', '.join(sorted(known))})")
        current = getattr(obj, key)
        changes[key] = _merge(current, value or {}, f"{prefix}{key}.") if hasattr(current, "__dataclass_fields__") else value
    try:
        return replace(obj, **changes)
    except ValueError as e:  # the settings' own checks: "beam_width: expected an integer >= 1, got 0"
        raise ConfigError(f"{prefix}{e}") from None


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> PipelineConfig:
    """The defaults, then the user's YAML file (any subset of keys), then ``overrides``.

    ``overrides`` is a nested dict like the YAML (``{"recognizer": {"model": "captcha-v2"}}``).
    """
    cfg = PipelineConfig()
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read config file ({e.__class__.__name__})") from None
        except yaml.YAMLError as e:
            where = getattr(e, "problem_mark", None)
            at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
            raise ConfigError(f"{path}: not valid YAML{at}") from None
        cfg = _merge(cfg, data or {}, "")
    if overrides:
        cfg = _merge(cfg, overrides, "")
    return cfg
