"""A character n-gram language model that weighs CTC beam search toward letter sequences words are made of.

The network reads each character from the pixels; the model only says how likely each next letter is after the
letters before it in a word, so a faint first letter goes to the reading that spells a word (EROWN -> BROWN).
It models runs of letters, lower-cased; ``START`` and ``END`` mark a run's ends. Digits and signs are left to the
network: they are neither priced nor rewarded, and each one ends the run of letters before it (whose end is
priced), so "SUBJECT:" and "SUBJECT" cost the same, and "24.8" is not read "248" to please the model (pricing
signs as the synthetic corpus has them dropped colons and decimal points on forms). Probabilities are
Witten-Bell interpolated:

    P(c | h) = (count(h c) + types(h) * P(c | h minus its first character)) / (count(h) + types(h))

where ``types(h)`` is how many different characters followed ``h``; below the shortest context, a uniform share
of the characters seen plus ``UNSEEN`` more. Six characters of context cannot tell a word from a plausible
string, so the model also holds a lexicon (lower-case words of two letters or more) that the decoder rewards
whole words of. A file holds the counts of every n-gram and the lexicon (a gzipped text file: a JSON header line,
then ``ngram<TAB>count`` lines, then one word a line); pure Python, no torch.
"""
from __future__ import annotations

import functools
import gzip
import json
import math
import re
from collections import Counter
from pathlib import Path

from .charset import LATIN
from .config import WEIGHTS_DIR

SHIPPED = WEIGHTS_DIR / "latin.lm.gz"  # letters of English words and of eight other languages (MODELS.md)

START, END = "\x02", "\x03"  # never in a charset: the charsets hold printable characters only
FORMAT = 2  # 1: counts only, no lexicon (still read)
UNSEEN = 50  # room in the uniform floor for characters the counts never saw
CACHE_SIZE = 1_000_000  # probabilities remembered (about 150 MB at most)


def letter_runs(text: str) -> list[str]:
    """The runs of letters a text is made of, lower-cased: "www.Cafe-24.com" -> ["www", "cafe", "com"]."""
    return re.findall(r"[^\W\d_]+", text.lower())


class LanguageModelError(ValueError):
    """A language model file cannot be used."""


class CharNGram:
    """Counts of character n-grams of orders 1 to ``order`` and the interpolated probabilities they give."""

    def __init__(self, order: int, counts: dict[str, int], source: str = "", name: str = "in memory",
                 lexicon: frozenset[str] = frozenset()):
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        self.order, self.counts, self.source, self.name, self.lexicon = order, counts, source, name, lexicon
        self._context: dict[str, list[int]] = {}  # context -> [count of the context, types after it]
        for gram, n in counts.items():
            entry = self._context.setdefault(gram[:-1], [0, 0])
            entry[0] += n
            entry[1] += 1
        self._floor = 1.0 / (len({g[-1] for g in counts}) + UNSEEN)
        self._cache: dict[tuple[str, str], float] = {}

    @classmethod
    def fit(cls, words, order: int = 6, source: str = "", lexicon=()) -> "CharNGram":
        """Counts the letter runs of ``words``; ``lexicon``: the words whole readings of are rewarded."""
        counts: Counter = Counter()
        pad = START * (order - 1)
        for run in (run for text in words for run in letter_runs(text)):
            s = pad + run + END
            for i in range(order - 1, len(s)):
                for n in range(order):
                    counts[s[i - n : i + 1]] += 1
        return cls(order, dict(counts), source, lexicon=frozenset(w for w in map(str.lower, lexicon)
                                                                   if len(w) >= 2 and letter_runs(w) == [w]))

    def known_words(self, text: str) -> int:
        """How many of the runs of letters of ``text`` are words of the lexicon ("SALE-50%" -> 1)."""
        return sum(1 for run in letter_runs(text) if run in self.lexicon) if self.lexicon else 0

    def start(self) -> str:
        """The context before a word's first letter."""
        return START * (self.order - 1)

    def step(self, context: str, char: str) -> tuple[float, str]:
        """The log-probability the model gives ``char`` after ``context``, and the context after it. A letter is
        priced by the letters before it; a digit or sign costs nothing itself but ends the run of letters before
        it, whose end is priced."""
        if char.isalpha():
            c = char.lower()
            return self.log_prob(context, c), (context + c)[1:] if self.order > 1 else ""
        return self.end_log_prob(context), self.start()

    def end_log_prob(self, context: str) -> float:
        """log P(the run of letters ends | context); nothing when no run is open."""
        return 0.0 if context == self.start() else self.log_prob(context, END)

    def log_prob(self, context: str, c: str) -> float:
        """log P(c | the last order - 1 characters of context), c a lower-case letter or END."""
        key = (context, c)
        if key not in self._cache:
            if len(self._cache) >= CACHE_SIZE:  # a long-running service must not grow without end
                self._cache.clear()
            p = self._floor
            for n in range(len(context) + 1):  # shortest context first, each interpolating the one below it
                h = context[len(context) - n :]
                if h not in self._context:
                    break
                total, types = self._context[h]
                p = (self.counts.get(h + c, 0) + types * p) / (total + types)
            self._cache[key] = math.log(p)
        return self._cache[key]

    def save(self, path: str | Path) -> None:
        header = {"format": FORMAT, "kind": "char-ngram", "order": self.order, "source": self.source,
                  "lexicon": len(self.lexicon)}
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(json.dumps(header) + "\n")
            f.writelines(f"{gram}\t{n}\n" for gram, n in sorted(self.counts.items()))
            f.writelines(f"{word}\n" for word in sorted(self.lexicon))

    @classmethod
    def load(cls, path: str | Path) -> "CharNGram":
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                header = json.loads(f.readline())
                lines = [line.rstrip("\n").rpartition("\t") for line in f]
            counts = {gram: int(n) for gram, tab, n in lines if tab}  # a word of the lexicon has no tab
            lexicon = frozenset(word for _, tab, word in lines if not tab)
        except (OSError, EOFError, ValueError) as e:  # ValueError covers bad JSON, bad UTF-8 and bad counts
            raise LanguageModelError(f"{path}: cannot read a language model ({e})") from None
        if not isinstance(header, dict) or header.get("kind") != "char-ngram" or header.get("format") not in (1, FORMAT):
            raise LanguageModelError(f"{path}: not a character n-gram file of format 1 or {FORMAT}")
        return cls(int(header["order"]), counts, header.get("source", ""), Path(path).name, lexicon)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> CharNGram:
    return CharNGram.load(path)


def resolve_language_model(name: str, charset: str) -> CharNGram | None:
    """A reader's language model: 'none'; 'auto' (the shipped one for the words charset ``LATIN``, none for
    captchas, plates and other charsets, whose strings are not words); or a file written by ``CharNGram.save``."""
    if name == "none" or (name == "auto" and charset != LATIN):
        return None
    path = SHIPPED if name == "auto" else Path(name)
    if not path.is_file():
        raise LanguageModelError(f"{path}: no such language model file" + (
            " (the package's shipped one is missing: reinstall it, or set language_model: none)" if name == "auto" else ""))
    return _load_cached(str(path.resolve()))
