"""What a recognizer checkpoint needs to rebuild its network and its preprocessing."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .charset import format_patterns

KIND = "recognizer"  # what its checkpoints and exports say they hold
WEIGHTS_DIR = Path(__file__).parent / "weights"  # the shipped models

# Named sizes: "fast" is the CPU-fast model (~1 M parameters), "full" the seed CRNN (~8.7 M).
SIZES = {
    "fast": {"width_mult": 0.25, "hidden": 128},
    "full": {"width_mult": 1.0, "hidden": 256},
    "resnet": {"backbone": "resnet", "width_mult": 1.0, "hidden": 192},  # issue 11's candidate for `words`
}
BACKBONES = ("vgg", "resnet")
RESIZE_MODES = ("stretch", "pad")
RNN_KINDS = ("lstm", "gru")


@dataclass(frozen=True)
class RecognizerConfig:
    width: int = 128  # input width in pixels; the CNN divides it by 4 into time steps
    height: int = 64  # input height; a multiple of 16
    channels: int = 1  # 1 = grayscale, 3 = RGB
    resize: str = "stretch"  # "stretch" to width x height, or "pad": keep the aspect ratio, pad right
    width_mult: float = 0.25  # CNN channels are (64, 128, 256, 256, 512, 512, 512) times this
    hidden: int = 128  # hidden units per direction in each of the two recurrent layers
    rnn: str = "lstm"  # "lstm" or "gru"
    backbone: str = "vgg"  # "vgg" (the CRNN paper's CNN) or "resnet" (residual blocks, deeper at the same cost)
    trim: bool = False  # cut blank margins off each crop before resizing (captchas with much empty space)

    def __post_init__(self):
        if self.width % 4 or self.width < 4:
            raise ValueError(f"width must be a positive multiple of 4, got {self.width}")
        if self.height % 16 or self.height < 16:
            raise ValueError(f"height must be a positive multiple of 16, got {self.height}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if self.resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES}, got {self.resize!r}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.rnn not in RNN_KINDS:
            raise ValueError(f"rnn must be one of {RNN_KINDS}, got {self.rnn!r}")
        if not isinstance(self.trim, bool):
            raise ValueError(f"trim must be true or false, got {self.trim!r}")
        if self.width_mult <= 0 or self.hidden < 1:
            raise ValueError("width_mult and hidden must be positive")

    @property
    def time_steps(self) -> int:
        return self.width // 4

    @classmethod
    def from_size(cls, size: str, **overrides) -> "RecognizerConfig":
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; choose from {sorted(SIZES)}")
        return cls(**{**SIZES[size], **overrides})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RecognizerConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown recognizer config keys: {sorted(unknown)}")
        return cls(**d)


DECODERS = ("auto", "greedy", "beam")


def _check(ok: bool, key: str, expected: str, value) -> None:
    if not ok:
        raise ValueError(f"{key}: expected {expected}, got {value!r}")


@dataclass(frozen=True)
class RecognizerSettings:
    """How a trained recognizer is used (``pipeline.yaml``'s ``recognizer`` section): the one place for these defaults."""

    model: str = "words"  # a shipped model name or the path of a .pt checkpoint
    decoder: str = "auto"  # greedy (best path), beam (CTC prefix beam search), auto: beam where a language model applies
    beam_width: int = 10  # prefixes the beam decoder keeps
    language_model: str = "auto"  # auto: the shipped word model for readers of the `latin` charset; none; or a file
    lm_weight: float = 0.4  # how much the language model counts against the network in beam search
    length_bonus: float = 0.75  # per character, offsetting the language model's price on each one
    word_bonus: float = 1.5  # per whole word of the language model's lexicon in a reading
    min_confidence: float = 0.5  # readings below this are dropped (0.5 beat 0 and 0.3 end to end)
    batch_size: int = 64  # crops per forward pass
    text_format: str = ""  # readings must fit: a plate format (br, ar) or patterns such as LLLDDDD,LLLDLDD

    def __post_init__(self):
        _check(isinstance(self.model, str) and self.model != "", "model", "a model name or a file path", self.model)
        _check(self.decoder in DECODERS, "decoder", "auto, greedy or beam", self.decoder)
        _check(isinstance(self.language_model, str) and self.language_model != "", "language_model",
               "auto, none or a file path", self.language_model)
        for key in ("lm_weight", "length_bonus", "word_bonus"):
            value = getattr(self, key)
            _check(type(value) in (int, float) and value >= 0, key, "a number >= 0", value)
        _check(type(self.beam_width) is int and self.beam_width >= 1, "beam_width", "an integer >= 1", self.beam_width)
        _check(type(self.min_confidence) in (int, float) and 0 <= self.min_confidence <= 1, "min_confidence",
               "a number from 0 to 1", self.min_confidence)
        _check(type(self.batch_size) is int and self.batch_size >= 1, "batch_size", "an integer >= 1", self.batch_size)
        _check(isinstance(self.text_format, str), "text_format", "a format name or patterns", self.text_format)
        try:
            format_patterns(self.text_format)
        except ValueError as e:
            raise ValueError(f"text_format: {e}") from None
