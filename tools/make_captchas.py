"""Write N labelled captchas, drawn by the PyPI `captcha` package's ImageCaptcha (default font).

Each file is named after its text: ``<text>_<index>.png`` (the trainer's default label separator
``_`` strips the index), so the folder trains directly:

    python tools/make_captchas.py --out data/captcha-train -n 100000 --seed 1

`captcha` 0.7.1 draws its randomness from the `secrets` module; this tool puts a seeded random source
in its place, one per image seeded by (seed, index), so a seed gives identical files for any
number of workers.
"""
from __future__ import annotations

import argparse
import random
import sys
from multiprocessing import Pool
from pathlib import Path

try:
    import captcha.image
    from captcha.image import ImageCaptcha
except ImportError:  # an optional extra: the engine itself never needs it
    sys.exit("error: make_captchas needs the captcha package: pip install 'crnn-ocr[captcha]' (or captcha==0.7.1)")

DEFAULT_CHARSET = "0123456789abcdefghijklmnopqrstuvwxyz"


class SeededSecrets:
    """The part of the `secrets` module's interface that `captcha` uses, drawn from random.Random."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def randbelow(self, n: int) -> int:
        return self.rng.randrange(n)

    def randbits(self, k: int) -> int:
        return self.rng.getrandbits(k)

    def choice(self, seq):
        return self.rng.choice(seq)


def captcha_text(rng: random.Random, charset: str, min_len: int, max_len: int) -> str:
    return "".join(rng.choice(charset) for _ in range(rng.randint(min_len, max_len)))


def write_one(args) -> None:
    index, out, seed, charset, min_len, max_len, width, height = args
    rng = random.Random(f"{seed}:{index}")
    captcha.image.secrets = SeededSecrets(rng)  # module-level swap: this process draws only from rng
    text = captcha_text(rng, charset, min_len, max_len)
    image = ImageCaptcha(width=width, height=height).generate_image(text)
    image.save(Path(out) / f"{text}_{index:07d}.png", optimize=False)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder to write into (created)")
    p.add_argument("-n", "--count", type=int, default=10000, help="number of captchas (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--charset", default=DEFAULT_CHARSET, help="characters to draw from (default 0-9a-z)")
    p.add_argument("--min-len", type=int, default=4, help="shortest text (default 4)")
    p.add_argument("--max-len", type=int, default=6, help="longest text (default 6)")
    p.add_argument("--width", type=int, default=160, help="image width (default 160, the package's)")
    p.add_argument("--height", type=int, default=60, help="image height (default 60, the package's)")
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    a = p.parse_args(argv)
    bad = set(a.charset) & set('_/\\.\0:*?"<>|')
    if bad or not a.charset:
        p.error(f"--charset must be non-empty and cannot hold file-name characters {''.join(sorted(bad))!r}")
    if not 1 <= a.min_len <= a.max_len:
        p.error("need 1 <= --min-len <= --max-len")
    if a.count < 1:
        p.error("--count must be at least 1")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(i, str(out), a.seed, a.charset, a.min_len, a.max_len, a.width, a.height) for i in range(a.count)]
    from tqdm import tqdm

    with tqdm(total=a.count, desc="captchas", unit="img", file=sys.stderr) as bar:
        if a.workers > 1:
            with Pool(a.workers) as pool:
                for _ in pool.imap_unordered(write_one, jobs, chunksize=256):
                    bar.update(1)
        else:
            for job in jobs:
                write_one(job)
                bar.update(1)
    print(f"wrote {a.count} captchas to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
