"""What a lent GPU needs to render and train words, in one folder small enough to travel with the tree (issue 11).

    python tools/device_bundle.py --out .devbundle          # about 30 MB: fonts, word lists, photos, validation

The device machine has PyTorch, OpenCV, Pillow and fontTools but no Debian fonts, word lists or wallpapers,
and what travels is limited to 64 MiB with the tree. The bundle holds a spread of the installed fonts (every
family once before any family twice), the English word list and the other languages' accented words (as
``synth.text.accented_words`` keeps them, capped per language), the photographs shrunk to a long side of
768 px, and the validation crops of ``svt-train`` and ``icdar2003-train``. ``tools/device_words.sh`` runs
on the device with it; the README's "The next `words`" says how to call it.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from synth.text import (DEFAULT_FONT_DIRS, DEFAULT_PHOTO_DIRS, DEFAULT_WORDS, FOREIGN_WORDS,  # noqa: E402
                        accented_words, find_files, find_photos, renders_latin)


def spread_fonts(fonts: list[str], budget: int) -> list[str]:
    """Fonts in rounds over their families (the folder they sit in), until ``budget`` bytes are used."""
    families: dict[str, list[str]] = {}
    for f in sorted(fonts):
        families.setdefault(str(Path(f).parent), []).append(f)
    chosen, used, round_ = [], 0, 0
    while any(round_ < len(v) for v in families.values()):
        for members in families.values():
            if round_ < len(members):
                size = Path(members[round_]).stat().st_size
                if used + size <= budget:
                    chosen.append(members[round_])
                    used += size
        round_ += 1
    return chosen


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=".devbundle")
    p.add_argument("--font-mb", type=float, default=12, help="fonts to bring, in MB")
    p.add_argument("--words-per-language", type=int, default=30000)
    p.add_argument("--photo-side", type=int, default=768, help="photos shrunk to this long side")
    p.add_argument("--val", nargs="*", default=["../shared/data/svt-train", "../shared/data/icdar2003-train"])
    a = p.parse_args(argv)
    out = Path(a.out)
    if out.exists():
        shutil.rmtree(out)
    (out / "fonts").mkdir(parents=True)
    fonts = spread_fonts([f for f in find_files(DEFAULT_FONT_DIRS, {".ttf", ".otf"}) if renders_latin(f)],
                         int(a.font_mb * 2**20))
    for i, f in enumerate(fonts):
        shutil.copy(f, out / "fonts" / f"{i:03d}-{Path(f).name}")
    (out / "dict").mkdir()
    shutil.copy(DEFAULT_WORDS, out / "dict" / Path(DEFAULT_WORDS).name)
    rng = np.random.default_rng(0)
    names = []
    for name in FOREIGN_WORDS:
        path = Path(DEFAULT_WORDS).parent / name
        words = accented_words(path) if path.is_file() else ()
        if words:
            keep = sorted(rng.choice(words, min(len(words), a.words_per_language), replace=False))
            (out / "dict" / name).write_text("\n".join(keep) + "\n", encoding="utf-8")
            names.append(name)
    (out / "photos").mkdir()
    for i, path in enumerate(find_photos(DEFAULT_PHOTO_DIRS)):
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((a.photo_side, a.photo_side))
            im.save(out / "photos" / f"{i:03d}.jpg", quality=80)
    for folder in a.val:
        shutil.copytree(folder, out / "val" / Path(folder).name)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"{out}: {len(fonts)} fonts, {len(names) + 1} word lists, {len(list((out / 'photos').iterdir()))} photos, "
          f"{len(a.val)} validation sets; {size / 2**20:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
