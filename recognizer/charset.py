"""The label map and CTC decoding.

Index 0 is the CTC blank; character ``i`` of the charset string has index ``i + 1``.

Confidence, one definition for every decoder: take the decoded text's most probable CTC alignment
(Viterbi path) through the frame probabilities; a character's probability is the highest probability
it has on the frames that path spends on it; the word's confidence is the geometric mean of its
characters' probabilities, in [0, 1]. The greedy path is itself the most probable alignment of the
text it spells, so greedy and beam search give the same confidence for the same text. An empty
reading has confidence 0.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

BLANK = 0

# One charset for every reader of words (scene text, documents), fixed before training (issue 11): printable
# ASCII without the space (words are read one at a time), the accented Latin letters of the Western and Central
# European languages, and the signs real text carries.
PRINTABLE_ASCII = "".join(chr(c) for c in range(33, 127))
ACCENTED_LATIN = ("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïñòóôõöøùúûüýþÿ"
                  "ĀāĂăĄąĆćČčĎďĒēĘęĚěĞğĪīİıŁłŃńŇňŌōŐőŒœŘřŚśŞşŠšŢţŤťŪūŮůŰűŸŹźŻżŽž")
SIGNS = "€£¥¢°§©®™±×÷«»¿¡µ¶·–—‘’‚“”„…•†‰′″"
LATIN = PRINTABLE_ASCII + ACCENTED_LATIN + SIGNS
DIGITS = "0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = LOWER.upper()
# Named sets for --charset; "alnum" holds both cases, as str.isalnum does.
NAMED = {"latin": LATIN, "digits": DIGITS, "alnum": DIGITS + UPPER + LOWER, "lower": DIGITS + LOWER,
         "upper": DIGITS + UPPER}


class UnknownCharacterError(ValueError):
    """A label holds a character outside the charset."""


@dataclass(frozen=True)
class Decoded:
    text: str
    confidence: float  # geometric mean of char_probs; 0.0 for an empty text
    char_probs: tuple[float, ...]


class Charset:
    """Maps text to CTC label indices and back."""

    def __init__(self, chars: str):
        if not chars:
            raise ValueError("a charset needs at least one character")
        if len(set(chars)) != len(chars):
            dupes = sorted({c for c in chars if chars.count(c) > 1})
            raise ValueError(f"charset has repeated characters: {''.join(dupes)!r}")
        self.chars = chars
        self._index = {c: i + 1 for i, c in enumerate(chars)}

    @classmethod
    def from_texts(cls, texts) -> "Charset":
        return cls("".join(sorted(set("".join(texts)))))

    @property
    def num_classes(self) -> int:
        """Characters plus the blank."""
        return len(self.chars) + 1

    def __len__(self) -> int:
        return len(self.chars)

    def __eq__(self, other) -> bool:
        return isinstance(other, Charset) and other.chars == self.chars

    def __repr__(self) -> str:
        return f"Charset({self.chars!r})"

    def encode(self, text: str) -> list[int]:
        unknown = sorted({c for c in text if c not in self._index})
        if unknown:
            raise UnknownCharacterError(f"characters {''.join(unknown)!r} of {text!r} are not in the charset")
        return [self._index[c] for c in text]

    def indices_to_text(self, indices) -> str:
        return "".join(self.chars[i - 1] for i in indices)


def ctc_frames_needed(labels: list[int]) -> int:
    """Fewest CTC frames that can emit ``labels``: one per label plus a blank between repeats."""
    repeats = sum(1 for a, b in zip(labels, labels[1:]) if a == b)
    return len(labels) + repeats


def viterbi_char_probs(probs: np.ndarray, labels: list[int]) -> list[float]:
    """Per-label probabilities along the most probable CTC alignment of ``labels``.

    probs: (T, K) frame probabilities. Returns one value per label: the highest frame probability of
    that label over the frames the alignment spends on it.
    """
    if not labels:
        return []
    T = probs.shape[0]
    ext = np.zeros(2 * len(labels) + 1, dtype=np.int64)  # blank, l1, blank, l2, ..., blank
    ext[1::2] = labels
    S = len(ext)
    logp = np.log(np.maximum(probs[:, ext], 1e-30))  # (T, S)
    # A state may come from itself, the state before, or (a label not repeating the one two back) two before.
    skip_ok = np.zeros(S, dtype=bool)
    skip_ok[3::2] = ext[3::2] != ext[1:-2:2]
    score = np.full(S, -np.inf)
    score[:2] = logp[0, :2]
    back = np.zeros((T, S), dtype=np.int64)
    idx = np.arange(S)
    for t in range(1, T):
        stay, step, skip = score, np.full(S, -np.inf), np.full(S, -np.inf)
        step[1:] = score[:-1]
        skip[2:] = np.where(skip_ok[2:], score[:-2], -np.inf)
        cands = np.stack([stay, step, skip])  # ties go to the earliest (stay)
        choice = cands.argmax(0)
        back[t] = idx - choice
        score = cands[choice, idx] + logp[t]
    s = S - 1 if score[S - 1] >= score[S - 2] else S - 2
    if not np.isfinite(score[s]):
        raise ValueError(f"{len(labels)} labels cannot be aligned to {T} frames")
    char_probs = [0.0] * len(labels)
    for t in range(T - 1, -1, -1):
        if s % 2 == 1:  # odd states are labels
            char_probs[s // 2] = max(char_probs[s // 2], float(probs[t, ext[s]]))
        s = back[t, s]
    return char_probs


def _path_char_probs(probs: np.ndarray, path: np.ndarray) -> tuple[list[int], list[float]]:
    """Collapse a frame path into labels, each with its highest probability over its run of frames."""
    labels, char_probs, prev = [], [], BLANK
    for t, k in enumerate(path.tolist()):
        if k != BLANK:
            if k != prev:
                labels.append(k)
                char_probs.append(0.0)
            char_probs[-1] = max(char_probs[-1], float(probs[t, k]))
        prev = k
    return labels, char_probs


def _decoded(charset: Charset, labels: list[int], char_probs: list[float]) -> Decoded:
    if not labels:
        return Decoded("", 0.0, ())
    confidence = math.exp(sum(math.log(max(p, 1e-30)) for p in char_probs) / len(char_probs))
    return Decoded(charset.indices_to_text(labels), confidence, tuple(char_probs))


def greedy_decode(probs: np.ndarray, charset: Charset) -> Decoded:
    """Best-path decoding of one (T, K) probability matrix.

    The best path is also the most probable alignment of the text it spells, so its per-character
    maxima are the Viterbi probabilities of the module's confidence definition.
    """
    return _decoded(charset, *_path_char_probs(probs, probs.argmax(axis=1)))


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    return a + math.log1p(math.exp(b - a)) if a >= b else b + math.log1p(math.exp(a - b))


def beam_decode(probs: np.ndarray, charset: Charset, beam_width: int = 10, prune: float = 1e-3, *,
                language_model=None, lm_weight: float = 0.0, length_bonus: float = 0.0,
                word_bonus: float = 0.0) -> Decoded:
    """CTC prefix beam search over one (T, K) probability matrix.

    Keeps the ``beam_width`` best prefixes, summing over all alignments of each; characters below ``prune``
    probability on a frame are not extended there (they cannot win a beam). With a ``language_model``
    (``recognizer.language.CharNGram``) a prefix scores log P_ctc + lm_weight * log P_lm + length_bonus * letters
    (shallow fusion; the bonus offsets the model's price on every letter), and a finished reading also pays the
    model's price for ending there and gains ``word_bonus`` for each whole word of the model's lexicon it holds.
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    lm = language_model
    lse, neg = _logsumexp, -math.inf
    logp = np.log(np.maximum(probs, 1e-30))
    extend = probs >= prune
    extend[:, BLANK] = False
    fused: dict[tuple[str, int], tuple[float, str]] = {}  # (LM context, label) -> (score change, next context)

    def score(item) -> float:  # a (prefix, entry) pair's total: the network's, plus the language model's
        entry = item[1]
        return lse(entry[0], entry[1]) + entry[2]

    def lm_step(context: str, k: int) -> tuple[float, str]:
        if (context, k) not in fused:
            char = charset.chars[k - 1]
            lp, next_context = lm.step(context, char)
            fused[context, k] = (lm_weight * lp + (length_bonus if char.isalpha() else 0.0), next_context)
        return fused[context, k]

    # prefix -> (log P(prefix, ending in blank), log P(prefix, ending in its last label), LM score, LM context);
    # plain floats throughout: numpy scalars would make this loop several times slower
    beams: dict[tuple[int, ...], tuple] = {(): (0.0, neg, 0.0, lm.start() if lm else "")}
    for t in range(probs.shape[0]):
        candidates = np.flatnonzero(extend[t]).tolist()
        row = logp[t].tolist()
        blank = row[BLANK]
        if not candidates:  # a frame of blank: no prefix is born, so every one stays (exactly what the loop does)
            beams = {p: (lse(pb, pnb) + blank, pnb + row[p[-1]] if p else neg, lm_lp, ctx)
                     for p, (pb, pnb, lm_lp, ctx) in beams.items()}
            continue
        nxt: dict[tuple[int, ...], list] = {}
        for prefix, (pb, pnb, lm_lp, context) in beams.items():
            total = lse(pb, pnb)
            # the prefix stays: a blank, or its last label repeated without a blank between
            stay = nxt.get(prefix)
            if stay is None:
                nxt[prefix] = stay = [total + blank, neg, lm_lp, context]
            else:
                stay[0] = lse(stay[0], total + blank)
            if prefix:
                stay[1] = lse(stay[1], pnb + row[prefix[-1]])
            for k in candidates:
                if lm:
                    change, next_context = lm_step(context, k)
                    char_lp = lm_lp + change
                else:
                    char_lp, next_context = lm_lp, context
                grown = prefix + (k,)
                label_lp = (pb if prefix and k == prefix[-1] else total) + row[k]  # a repeat needs a blank between
                cur = nxt.get(grown)
                if cur is None:
                    nxt[grown] = [neg, label_lp, char_lp, next_context]
                else:
                    cur[1] = lse(cur[1], label_lp)
        ranked = sorted(nxt.items(), key=score, reverse=True)
        beams = {p: tuple(entry) for p, entry in ranked[:beam_width]}
    if lm:
        beams = {p: (pb, pnb, lm_lp + lm_weight * lm.end_log_prob(ctx)
                     + word_bonus * lm.known_words(charset.indices_to_text(p)), ctx)
                 for p, (pb, pnb, lm_lp, ctx) in beams.items()}
        # a word's crop holds a word: the model must not price a lone letter ("T", "a") out of existence
        beams = {p: entry for p, entry in beams.items() if p} or beams
    labels = max(beams.items(), key=score)[0]
    if lm and len(labels) == 1:  # one glyph alone says nothing of words: which one is the network's call (priced,
        # a letter lost to the free digit or sign it resembles, T -> 1, a -> 9)
        labels = max((kv for kv in beams.items() if len(kv[0]) == 1), key=lambda kv: lse(kv[1][0], kv[1][1]))[0]
    best_path, path_probs = _path_char_probs(probs, probs.argmax(axis=1))
    if list(labels) == best_path:  # the reading is the best path's: its maxima are the Viterbi ones, no search
        return _decoded(charset, best_path, path_probs)
    return _decoded(charset, list(labels), viterbi_char_probs(probs, list(labels)))


# Character classes of a format pattern: one letter per character of the text.
PATTERN_CLASSES = {"L": str.isalpha, "D": str.isdigit, "A": lambda c: True}
# Named formats: the patterns a plate of that country may have (one row, separators not read).
PLATE_FORMATS = {
    "br": ("LLLDDDD", "LLLDLDD"),  # Brazil: old ABC-1234, Mercosur ABC1D23
    "ar": ("LLLDDD", "LLDDDLL"),  # Argentina: old ABC 123, Mercosur AB 123 CD
}


def format_patterns(text_format: str) -> tuple[str, ...]:
    """A named format ('br') or comma-separated patterns ('LLLDDDD,LLLDLDD') -> its patterns; '' -> none."""
    if not text_format:
        return ()
    if text_format in PLATE_FORMATS:
        return PLATE_FORMATS[text_format]
    patterns = tuple(p.strip() for p in text_format.split(","))
    if not all(p and set(p) <= set(PATTERN_CLASSES) for p in patterns):
        raise ValueError(f"unknown text format {text_format!r}: name one of {sorted(PLATE_FORMATS)} or give "
                         "patterns of L (letter), D (digit) and A (any), comma-separated, e.g. LLLDDDD,LLLDLDD")
    return patterns


def fits_pattern(text: str, pattern: str) -> bool:
    return len(text) == len(pattern) and all(PATTERN_CLASSES[p](c) for c, p in zip(text, pattern))


def pattern_decode(probs: np.ndarray, charset: Charset, patterns: tuple[str, ...]) -> Decoded:
    """Best-path decoding restricted to texts that fit one of ``patterns`` ('LLLDDDD': letter, digit, any).

    For each pattern, the most probable CTC path whose text fits it (a Viterbi pass over the pattern's slots,
    each slot allowed only its class's characters); the most probable of those paths wins. Where no pattern
    fits the frames (more slots than the frames can emit) the reading falls back to greedy decoding.
    """
    greedy = greedy_decode(probs, charset)
    if any(fits_pattern(greedy.text, p) for p in patterns):  # the best path of all fits: nothing to search
        return greedy
    logp = np.log(np.maximum(probs, 1e-30))
    best: tuple[float, list[int]] | None = None
    for pattern in patterns:
        found = _pattern_path(logp, charset, pattern)
        if found and (best is None or found[0] > best[0]):
            best = found
    if best is None:
        return greedy
    labels = best[1]
    return _decoded(charset, labels, viterbi_char_probs(probs, labels))


@functools.lru_cache(maxsize=64)
def _slot_labels(chars: str, pattern: str) -> np.ndarray:
    """(len(pattern), len(chars) + 1) bool: the labels each slot of the pattern may emit (never the blank)."""
    allowed = np.zeros((len(pattern), len(chars) + 1), dtype=bool)
    for j, cls in enumerate(pattern):
        allowed[j, 1:] = [PATTERN_CLASSES[cls](c) for c in chars]
    allowed.flags.writeable = False  # shared between calls
    return allowed


def _pattern_path(logp: np.ndarray, charset: Charset, pattern: str) -> tuple[float, list[int]] | None:
    """(log probability, labels) of the best CTC path spelling a text of ``pattern``, or None if none can."""
    T, K = logp.shape
    L = len(pattern)
    allowed = _slot_labels(charset.chars, pattern)
    if L == 0 or not allowed.any(axis=1).all():
        return None
    emit = np.where(allowed[None], logp[:, None, :], -np.inf)  # (T, L, K): slot j may emit label k
    # blank[j]: j slots emitted, now on a blank (j = 0..L); char[j, k]: on slot j, emitting label k.
    blank = np.full(L + 1, -np.inf)
    blank[0] = logp[0, BLANK]
    char = emit[0].copy()
    char[1:] = -np.inf
    # Back pointers per frame. blank_from[t, j]: -1 stayed on the blank, else the label of slot j-1 it left.
    # char_from[t, j, k]: 0 stayed, 1 came from the blank before the slot, 2 + k' from slot j-1's label k'.
    blank_from = np.full((T, L + 1), -1, dtype=np.int64)
    char_from = np.zeros((T, L, K), dtype=np.int64)
    rows, labels_k = np.arange(L), np.arange(K)
    for t in range(1, T):
        order = np.argsort(char, axis=1)
        top, runner = order[:, -1], order[:, -2]
        top_score = char[rows, top]
        new_blank = blank.copy()
        left = top_score > blank[1:]  # a slot's best label moving on to the blank after it
        new_blank[1:][left] = top_score[left]
        blank_from[t, 1:] = np.where(left, top, -1)
        # From slot j-1: its best label other than k (equal neighbours need a blank between them).
        prev_k = np.where(labels_k[None] == top[:-1, None], runner[:-1, None], top[:-1, None])  # (L-1, K)
        prev = np.full((L, K), -np.inf)
        prev[1:] = np.take_along_axis(char[:-1], prev_k, axis=1)
        cands = np.stack([char, np.broadcast_to(blank[:L, None], (L, K)), prev])
        choice = cands.argmax(0)
        source = np.where(choice == 2, 2 + np.vstack([np.zeros((1, K), np.int64), prev_k]), choice)
        char_from[t] = source
        char = np.take_along_axis(cands, choice[None], 0)[0] + emit[t]
        blank = new_blank + logp[t, BLANK]
    end_char = int(char[L - 1].argmax())
    score = max(blank[L], char[L - 1, end_char])
    if not np.isfinite(score):
        return None
    labels: list[int] = []
    state = ("b", L, 0) if blank[L] >= char[L - 1, end_char] else ("c", L - 1, end_char)
    for t in range(T - 1, 0, -1):
        kind, j, k = state
        if kind == "b":
            if blank_from[t, j] >= 0:
                state = ("c", j - 1, int(blank_from[t, j]))
            continue
        came = char_from[t, j, k]
        if came:  # the first frame of this label's run
            labels.append(k)
            state = ("b", j, 0) if came == 1 else ("c", j - 1, int(came - 2))
    if state[0] == "c":
        labels.append(state[2])
    return float(score), labels[::-1]
