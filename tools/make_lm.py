"""The character language model that beam search weighs readings of words with (recognizer/language.py).

    python tools/make_lm.py --out recognizer/weights/latin.lm.gz              # the shipped one (seed 0, 100,000 words)
    python tools/make_lm.py --out my.lm.gz --words my-vocabulary.txt --no-mix  # your own words only

Counts the character n-grams of words drawn as the synthetic word engine draws its labels
(``synth.text.random_text``: Debian's wamerican words in lower, Title and UPPER case, accented words of eight
other languages, numbers, prices, dates, codes, addresses), so the model knows what the `words` reader was
taught to read; --no-mix counts the word list alone, each word once. The word list's words of two letters or more
are the model's lexicon too: the decoder rewards readings that spell them whole. A seed gives the same file.
Needs (Debian): wamerican and the w* lists of the other languages (README: "Synthetic words").
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

import numpy as np

from recognizer.language import CharNGram
from synth.text import DEFAULT_WORDS, load_foreign_words, load_words, random_text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="the file to write (.lm.gz)")
    p.add_argument("--words", default=DEFAULT_WORDS, help=f"word list, one per line (default {DEFAULT_WORDS})")
    p.add_argument("-n", "--count", type=int, default=100_000, help="words drawn (default 100,000)")
    p.add_argument("--order", type=int, default=6, help="longest n-gram counted, in characters (default 6)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-mix", action="store_true", help="the word list alone, each word once")
    a = p.parse_args(argv)
    start = time.perf_counter()
    words = load_words(a.words)
    if a.no_mix:
        texts, source = list(words), f"each word of {a.words} once"
    else:
        rng, foreign = np.random.default_rng(a.seed), load_foreign_words()
        texts = [random_text(rng, words, foreign) for _ in range(a.count)]
        source = (f"{a.count} words drawn by synth.text.random_text (seed {a.seed}) from {a.words} and "
                  f"{len(foreign)} other languages' lists")
    lm = CharNGram.fit(texts, a.order, source, lexicon=words)
    lm.save(a.out)
    print(f"wrote {a.out}: order {a.order}, {len(lm.counts):,} n-grams from {len(texts):,} words, "
          f"a lexicon of {len(lm.lexicon):,} words, "
          f"{Path(a.out).stat().st_size / 1e6:.1f} MB, {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
