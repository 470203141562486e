import math

import numpy as np
import pytest

import itertools

from recognizer.charset import (NAMED, Charset, UnknownCharacterError, _pattern_path, beam_decode, ctc_frames_needed,
                                format_patterns, greedy_decode, pattern_decode, viterbi_char_probs)

CS = Charset("ab")  # blank = 0, a = 1, b = 2


def frames(*rows):
    """Each row: (p_blank, p_a, p_b)."""
    return np.array(rows, dtype=np.float64)


def test_label_map_round_trip_and_blank_offset():
    cs = Charset("0123456789")
    assert cs.num_classes == 11
    assert cs.encode("907") == [10, 1, 8]
    assert cs.indices_to_text([10, 1, 8]) == "907"


def test_unknown_character_is_named():
    with pytest.raises(UnknownCharacterError, match="'X'"):
        Charset("abc").encode("aXb")


def test_repeated_charset_characters_rejected():
    with pytest.raises(ValueError, match="repeated"):
        Charset("abca")


def test_charset_from_texts_is_sorted_unique():
    assert Charset.from_texts(["ba", "ab1"]).chars == "1ab"


def test_named_sets_hold_what_their_names_say():
    assert len(NAMED["alnum"]) == 62 and set("0aZ") <= set(NAMED["alnum"])
    assert NAMED["lower"] == "0123456789abcdefghijklmnopqrstuvwxyz"
    assert NAMED["upper"] == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert Charset(NAMED["alnum"]).num_classes == 63


def test_frames_needed_counts_adjacent_repeats():
    assert ctc_frames_needed([1, 1, 2]) == 4
    assert ctc_frames_needed([1, 2, 1]) == 3
    assert ctc_frames_needed([]) == 0


def test_greedy_collapses_repeats_and_drops_blanks():
    # best path: a a - a b b -  ->  "aab"
    p = frames((.1, .8, .1), (.1, .7, .2), (.9, .05, .05), (.2, .6, .2), (.1, .1, .8), (.3, .1, .6), (.8, .1, .1))
    d = greedy_decode(p, CS)
    assert d.text == "aab"
    # each character's probability is its best frame on the path
    assert d.char_probs == pytest.approx((0.8, 0.6, 0.8))
    assert d.confidence == pytest.approx((0.8 * 0.6 * 0.8) ** (1 / 3))


def test_confidence_of_a_known_matrix():
    p = frames((.05, .9, .05), (.3, .6, .1), (.8, .1, .1), (.3, .2, .5))
    d = greedy_decode(p, CS)
    assert d.text == "ab"
    assert d.confidence == pytest.approx(math.sqrt(0.9 * 0.5))


def test_empty_reading_has_zero_confidence():
    d = greedy_decode(frames((.9, .05, .05), (.8, .1, .1)), CS)
    assert (d.text, d.confidence, d.char_probs) == ("", 0.0, ())


def test_beam_beats_greedy_when_alignments_add_up():
    # greedy path is blank, blank -> "" (p = .36); "a" sums a-a, a-blank, blank-a = .16 + .24 + .24 = .64
    p = frames((.6, .4, 0), (.6, .4, 0))
    assert greedy_decode(p, CS).text == ""
    d = beam_decode(p, CS, beam_width=4)
    assert d.text == "a"
    assert d.char_probs == pytest.approx((0.4,))


def test_beam_keeps_repeats_separated_by_blank():
    p = frames((.1, .9, 0), (.9, .1, 0), (.1, .9, 0))
    assert beam_decode(p, CS, beam_width=3).text == "aa"
    assert greedy_decode(p, CS).text == "aa"


def test_beam_and_greedy_agree_on_confidence_for_the_same_text():
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.dirichlet(np.full(3, 0.3), size=8)
        g, b = greedy_decode(p, CS), beam_decode(p, CS, beam_width=8)
        if g.text == b.text:
            assert g.confidence == pytest.approx(b.confidence)
        assert 0.0 <= b.confidence <= 1.0


def test_viterbi_rejects_labels_longer_than_frames():
    with pytest.raises(ValueError, match="cannot be aligned"):
        viterbi_char_probs(frames((.1, .9, 0), (.1, .9, 0)), [1, 1])


def test_beam_width_must_be_positive():
    with pytest.raises(ValueError, match="beam_width"):
        beam_decode(frames((.1, .9, 0)), CS, beam_width=0)


PLATE = Charset("01AO")  # blank = 0, '0' = 1, '1' = 2, 'A' = 3, 'O' = 4


def test_pattern_decode_turns_a_digit_into_the_letter_the_slot_needs():
    # greedy reads "A01"; a letter must come second, so the runner-up 'O' of frame 2 takes its place
    p = frames((.1, .1, .1, .6, .1), (.7, .1, .1, .05, .05), (.1, .5, .05, .05, .3), (.8, .05, .05, .05, .05),
               (.1, .1, .7, .05, .05))
    assert greedy_decode(p, PLATE).text == "A01"
    d = pattern_decode(p, PLATE, ("LLD",))
    assert d.text == "AO1"
    assert d.char_probs == pytest.approx((0.6, 0.3, 0.7))


def test_pattern_decode_picks_the_most_probable_of_several_patterns():
    p = frames((.1, .1, .1, .6, .1), (.7, .1, .1, .05, .05), (.1, .5, .05, .05, .3), (.8, .05, .05, .05, .05),
               (.1, .1, .7, .05, .05))
    assert pattern_decode(p, PLATE, ("LLD", "LDD")).text == "A01"  # 'LDD' keeps the greedy reading
    # no pattern fits 5 frames with 6 slots: the greedy reading
    assert pattern_decode(p, PLATE, ("LLLLLL",)).text == "A01"


def test_pattern_path_is_the_best_fitting_path_by_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(80):
        T, K = int(rng.integers(1, 6)), PLATE.num_classes
        logp = np.log(rng.dirichlet(np.full(K, 0.5), size=T))
        pattern = "".join(rng.choice(list("LDA"), int(rng.integers(1, 4))))
        best_of_text: dict[str, float] = {}  # each text that fits: its most probable path
        for path in itertools.product(range(K), repeat=T):
            text = PLATE.indices_to_text([k for i, k in enumerate(path) if k and (i == 0 or k != path[i - 1])])
            fits = len(text) == len(pattern) and all(
                {"L": c.isalpha(), "D": c.isdigit(), "A": True}[q] for c, q in zip(text, pattern))
            if fits:
                score = sum(logp[t, k] for t, k in enumerate(path))
                best_of_text[text] = max(best_of_text.get(text, -np.inf), score)
        found = _pattern_path(logp, PLATE, pattern)
        assert (found is None) == (not best_of_text)
        if found:
            assert found[0] == pytest.approx(max(best_of_text.values()))
            assert best_of_text[PLATE.indices_to_text(found[1])] == pytest.approx(found[0])  # its text has that path


def test_format_patterns_names_and_errors():
    assert format_patterns("br") == ("LLLDDDD", "LLLDLDD")
    assert format_patterns("LLD, DDA") == ("LLD", "DDA")
    assert format_patterns("") == ()
    with pytest.raises(ValueError, match="unknown text format 'XY1'"):
        format_patterns("XY1")
