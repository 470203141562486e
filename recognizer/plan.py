"""Look at a folder of labelled crops and choose how to train a reader for it: ``ocr-train``'s recognizer defaults.

``summarize`` measures the data (image sizes, blank margins, label lengths, characters, case); ``plan`` turns the
summary into settings, each with the reason it was chosen, and leaves alone whatever the user fixed. Both are
plain functions of the data, so a report can say exactly why a run was set up as it was.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field

import numpy as np

from engine.images import load_image

from .transforms import content_box

ALNUM = set(string.ascii_letters + string.digits)
HEIGHT = 64  # the shipped convolutions end at height / 16 = 4 rows: a new width carries them over, a new height not
MAX_WIDTH = 320  # 80 time steps; wider costs training speed for nothing on crops of a few words
TRIM_ABOVE = 0.15  # trim blank margins when they take more than this share of the median image's width
PAD_SPREAD = 1.6  # keep the aspect ratio (pad) when the 90th/10th percentile aspect ratios differ more than this


@dataclass(frozen=True)
class DataSummary:
    count: int
    read: int  # images actually opened to measure sizes (a random subset of big sets)
    unreadable: list[str]
    width: tuple[int, int, int]  # min, median, max in pixels
    height: tuple[int, int, int]
    aspect: tuple[float, float, float]  # width / height after trimming blank margins: 10th, 50th, 90th percentile
    margin: float  # median share of the width that is blank margin
    lengths: tuple[int, int, int]  # label length: min, median, max
    chars: str  # every character of the labels, sorted
    case: str  # "lower", "upper", "mixed" or "none" (no letters)

    def lines(self) -> list[str]:
        w, h, a, n = self.width, self.height, self.aspect, self.lengths
        out = [f"{self.count} labelled images; sizes measured on {self.read}"
               + (f" ({len(self.unreadable)} unreadable, e.g. {self.unreadable[0]})" if self.unreadable else ""),
               f"width {w[0]} / {w[1]} / {w[2]} px, height {h[0]} / {h[1]} / {h[2]} px (min / median / max)",
               f"blank margins {self.margin:.0%} of the width (median); aspect ratio of the text "
               f"{a[0]:.2f} / {a[1]:.2f} / {a[2]:.2f} (10th / 50th / 90th percentile)",
               f"labels of {n[0]} to {n[2]} characters (median {n[1]}), {len(self.chars)} distinct, case {self.case}: "
               f"{self.chars}"]
        return out


def summarize(samples, limit: int = 400, seed: int = 0) -> DataSummary:
    """Measure labelled samples (``.path``, ``.text``); images are read for at most ``limit`` of them."""
    if not samples:
        raise ValueError("no samples to summarize")
    rng = np.random.default_rng(seed)
    picked = [samples[i] for i in sorted(rng.permutation(len(samples))[:limit])]
    sizes, aspects, margins, unreadable = [], [], [], []
    for s in picked:
        try:
            image = load_image(s.path)
        except ValueError as e:
            unreadable.append(str(e))
            continue
        h, w = image.shape[:2]
        x0, y0, x1, y1 = content_box(image)
        sizes.append((w, h))
        aspects.append((x1 - x0) / max(1, y1 - y0))
        margins.append(1 - (x1 - x0) / w)
    if not sizes:
        raise ValueError(f"none of the {len(picked)} images read could be opened, e.g. {unreadable[0]}")
    texts = [s.text for s in samples]
    letters = "".join(c for t in texts for c in t if c.isalpha())
    case = ("none" if not letters else "lower" if letters == letters.lower() else
            "upper" if letters == letters.upper() else "mixed")
    ws, hs = np.array(sizes).T
    lengths = [len(t) for t in texts]

    def three(v, q=(0, 50, 100)):
        return tuple(np.percentile(v, q).round(2).tolist())

    return DataSummary(count=len(samples), read=len(sizes), unreadable=unreadable,
                       width=tuple(int(v) for v in three(ws)), height=tuple(int(v) for v in three(hs)),
                       aspect=three(aspects, (10, 50, 90)), margin=float(np.median(margins)),
                       lengths=(min(lengths), int(np.median(lengths)), max(lengths)),
                       chars="".join(sorted(set("".join(texts)))), case=case)


@dataclass(frozen=True)
class Plan:
    """How to train: every field is a choice, and ``why`` says for each where it came from."""

    width: int
    resize: str
    trim: bool
    charset: str
    init: str | None
    val_count: int
    lr: float
    warmup: int
    clutter: bool
    why: dict = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [f"{LABELS.get(key, key)}: {self.why[key]}" for key in self.why]


LABELS = {"trim": "trim margins", "width": "input", "val_count": "validation", "clutter": "clutter augmentation",
          "lr": "learning rate", "warmup": "warm-up"}


def _width(summary: DataSummary) -> tuple[int, str]:
    aspect = summary.aspect[1]
    longest = summary.lengths[2]
    floor = max(64, -(-8 * longest // 16) * 16)  # 2 time steps per character at least, for CTC's repeats
    width = int(min(MAX_WIDTH, max(floor, round(HEIGHT * aspect / 16) * 16)))
    reason = f"{width} x {HEIGHT}: the text's median aspect ratio {aspect:.2f} at height {HEIGHT}"
    if width == floor and floor > round(HEIGHT * aspect / 16) * 16:
        reason = f"{width} x {HEIGHT}: {width // 4} time steps for labels of up to {longest} characters"
    elif width == MAX_WIDTH:
        reason += f", capped at {MAX_WIDTH} for speed"
    return width, reason


def plan(summary: DataSummary, shipped: list[str], init_charset, fixed: dict | None = None) -> Plan:
    """Settings for training on data like ``summary``; ``fixed`` holds the choices the user made (flag name ->
    value; ``init`` may be None to mean "from scratch"), which are kept and said to be the user's.

    Captcha-like labels (letters and digits, short) get a reader of the labels' characters only, so a model
    started from one that knows upper and lower case cannot answer 'O' for a set without capitals; other data
    fine-tuned from a shipped reader keep its characters (``init_charset(name)``) and add the labels' new ones.
    """
    fixed = fixed or {}
    why: dict = {}
    captcha_like = set(summary.chars) <= ALNUM and summary.lengths[2] <= 12
    trim = summary.margin > TRIM_ABOVE
    why["trim"] = (f"{'yes' if trim else 'no'}: blank margins take {summary.margin:.0%} of the width "
                   f"({'more' if trim else 'less'} than {TRIM_ABOVE:.0%})")
    width, why["width"] = _width(summary)
    spread = summary.aspect[2] / max(summary.aspect[0], 1e-6)
    resize = "pad" if spread > PAD_SPREAD else "stretch"
    why["resize"] = (f"{resize}: aspect ratios differ {spread:.1f}x between the 10th and 90th percentile "
                     f"({'more' if resize == 'pad' else 'less'} than {PAD_SPREAD}x)")
    if captcha_like:
        base = next((m for m in ("captcha-base", "captcha") if m in shipped), None)
        init_reason = "letters and digits only, at most 12: fine-tune the shipped captcha reader's features"
    else:
        base = "words" if "words" in shipped else None
        init_reason = "labels with signs or long ones: fine-tune the shipped word reader's features"
    why["init"] = f"{base}: {init_reason}" if base else "from scratch: no shipped model to start from"
    init = fixed.get("init", base)  # the charset and the rate below follow whether the run fine-tunes
    charset = summary.chars
    why["charset"] = f"the labels' {len(charset)} characters" + (": the model reads only these" if init else "")
    if init and not captcha_like:
        known = init_charset(init)
        charset = known + "".join(c for c in summary.chars if c not in known)
        why["charset"] = (f"{init}'s {len(known)} characters" + (f" and the labels' {len(charset) - len(known)} new "
                                                                  "ones" if len(charset) > len(known) else ""))
    n = summary.count
    val_count = int(np.clip(round(0.1 * n), min(50, n // 4), 2000))
    why["val_count"] = f"{val_count} of {n} images held out at random (10%, at least 50, at most 2000)"
    why["clutter"] = ("yes: captcha-like data; lines and speckles join the usual small turns, crops, blur and noise"
                       if captcha_like else "no: the usual small turns, crops, contrast, blur and noise")
    clutter = captcha_like
    lr, warmup = (5e-4, 100) if init else (1e-3, 500)
    why["lr"] = f"{lr:g}" + (" (fine-tuning)" if init else " (from scratch)")
    why["warmup"] = f"{warmup} steps"
    choices = dict(width=width, resize=resize, trim=trim, charset=charset, init=init, val_count=val_count, lr=lr,
                   warmup=warmup, clutter=clutter)
    for key, value in fixed.items():
        choices[key] = value
        why[key] = f"{'from scratch' if key == 'init' and value is None else value} (given)"
    return Plan(**choices, why=why)
