"""What a detector checkpoint needs to rebuild its network, and how a trained detector is used. Torch-free."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

KIND = "detector"  # what its checkpoints and exports say they hold
WEIGHTS_DIR = Path(__file__).parent / "weights"  # the shipped models

SIZES = {"half": {"width_mult": 0.5, "neck": 64}, "full": {"width_mult": 1.0, "neck": 128}}


@dataclass(frozen=True)
class DetectorConfig:
    width_mult: float = 0.5  # ResNet-18 stage widths (64, 128, 256, 512) times this
    neck: int = 64  # FPN channels; each of the 4 levels contributes neck // 4 to the fused map
    k: float = 50.0  # steepness of the approximate binarization
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)  # input normalization (RGB, 0..1)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __post_init__(self):
        if self.width_mult <= 0 or self.neck < 4 or self.neck % 4:
            raise ValueError("width_mult must be positive and neck a positive multiple of 4")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "DetectorConfig":
        known = {f.name for f in fields(cls)}
        if set(d) - known:
            raise ValueError(f"unknown detector config keys: {sorted(set(d) - known)}")
        d = dict(d)
        for key in ("mean", "std"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


def _check(ok: bool, key: str, expected: str, value) -> None:
    if not ok:
        raise ValueError(f"{key}: expected {expected}, got {value!r}")


def _fraction(v) -> bool:
    return type(v) in (int, float) and 0 <= v <= 1


@dataclass(frozen=True)
class DetectorSettings:
    """How a trained detector is used (``pipeline.yaml``'s ``detector`` section): the one place for these defaults.

    The thresholds were tuned for the shipped ``db`` on the held-out ICDAR 2015 images (``tools/eval_detector.py``
    with several values per threshold): 0.5 splits neighbouring words better than DBNet's usual 0.3.
    """

    model: str = "db"  # a shipped detector name or the path of a .pt checkpoint
    max_side: int = 1280  # images are shrunk so their long side is at most this
    bin_thresh: float = 0.5  # probability above which a pixel is text
    box_thresh: float = 0.7  # regions whose mean probability is below this are dropped
    unclip_ratio: float = 1.5  # how far each region is grown back out (DBNet trains on shrunk words)
    batch_size: int = 4  # images per forward pass (only images of one size share a pass)
    enlarge: float = 1.0  # > 1: enlarge every image by this much first (small print), up to 6 megapixels
    # Pages: an image where the first pass finds at least page_words words, their median height under small_text
    # pixels at that pass's scale (after any shrinking to max_side), is read again enlarged page_enlarge times (up to 6 megapixels; 0 turns this off), its regions grown
    # by page_unclip_ratio. Tuned on the 20 held-out FUNSD forms (tools/splits/funsd_val.txt).
    page_words: int = 30
    small_text: float = 15.0
    page_enlarge: float = 2.3
    page_unclip_ratio: float = 1.5  # 2.7 before db was fine-tuned on forms and pages, whose boxes it now draws
    # On onnxruntime, the int8 copy of the export (db.int8.onnx, made by ocr-export --int8) where there is one:
    # 1.4 times as fast, detection H-mean within 0.01 on the held-out ICDAR 2015 photos and FUNSD forms.
    int8: bool = True

    def __post_init__(self):
        _check(isinstance(self.model, str) and self.model != "", "model", "a model name or a file path", self.model)
        _check(type(self.max_side) is int and self.max_side >= 32, "max_side", "an integer >= 32", self.max_side)
        _check(_fraction(self.bin_thresh), "bin_thresh", "a number from 0 to 1", self.bin_thresh)
        _check(_fraction(self.box_thresh), "box_thresh", "a number from 0 to 1", self.box_thresh)
        _check(type(self.unclip_ratio) in (int, float) and 0.01 <= self.unclip_ratio <= 10, "unclip_ratio",
               "a number from 0.01 to 10", self.unclip_ratio)
        _check(type(self.batch_size) is int and self.batch_size >= 1, "batch_size", "an integer >= 1", self.batch_size)
        _check(type(self.enlarge) in (int, float) and 1 <= self.enlarge <= 4, "enlarge", "a number from 1 to 4",
               self.enlarge)
        _check(type(self.page_words) is int and self.page_words >= 1, "page_words", "an integer >= 1", self.page_words)
        _check(type(self.small_text) in (int, float) and self.small_text > 0, "small_text", "a positive number",
               self.small_text)
        _check(type(self.page_enlarge) in (int, float) and (self.page_enlarge == 0 or 1 <= self.page_enlarge <= 4),
               "page_enlarge", "0 (off) or a number from 1 to 4", self.page_enlarge)
        _check(type(self.page_unclip_ratio) in (int, float) and 0.01 <= self.page_unclip_ratio <= 10,
               "page_unclip_ratio", "a number from 0.01 to 10", self.page_unclip_ratio)
        _check(isinstance(self.int8, bool), "int8", "true or false", self.int8)
