"""The character language model and beam search weighed by it."""
import gzip
import math

import numpy as np
import pytest

from recognizer.charset import LATIN, Charset, beam_decode, greedy_decode
from recognizer.config import RecognizerSettings
from recognizer.language import END, SHIPPED, START, CharNGram, LanguageModelError, letter_runs, resolve_language_model


def test_witten_bell_probability_by_hand():
    lm = CharNGram.fit(["cat", "car", "cab"], order=3)
    # unigrams: c 3, a 3, t 1, r 1, b 1, end 3 -> 12 in 6 types; the floor shares among 6 seen + 50 unseen
    unigram = (3 + 6 / 56) / (12 + 6)
    bigram = (3 + 1 * unigram) / (3 + 1)  # after the start: only c, 3 times
    trigram = (3 + 1 * bigram) / (3 + 1)
    assert math.exp(lm.log_prob(lm.start(), "c")) == pytest.approx(trigram)
    context = lm.step(lm.step(lm.start(), "c")[1], "a")[1]
    assert context == "ca"
    # after "ca": t, r, b once each (3 in 3 types); "a" alone is followed by the same three
    p_t = (1 + 3 * ((1 + 3 * (1 + 6 / 56) / 18) / 6)) / 6
    assert math.exp(lm.log_prob(context, "t")) == pytest.approx(p_t)
    assert lm.log_prob(context, "t") > lm.log_prob(context, "x")


def test_letters_are_lower_cased_and_digits_and_signs_are_free_but_end_the_run_of_letters():
    assert letter_runs("www.Café-24.com") == ["www", "café", "com"]
    lm = CharNGram.fit(["Subject:", "subject", "3.60"], order=4)
    assert lm.step(lm.start(), "S") == lm.step(lm.start(), "s")
    context = lm.start()
    for c in "subject":
        context = lm.step(context, c)[1]
    assert lm.step(context, ":") == (lm.end_log_prob(context), lm.start())  # "SUBJECT:" costs what "SUBJECT" does
    assert lm.step(lm.start(), "7") == (0.0, lm.start()) and lm.end_log_prob(lm.start()) == 0.0
    assert all(gram.strip(START + END).isalpha() for gram in lm.counts if gram.strip(START + END))


def test_probabilities_of_the_next_character_sum_below_one_leaving_room_for_unseen_ones():
    lm = CharNGram.fit(["cat", "dog", "cow"], order=3)
    ctx = lm.step(lm.start(), "c")[1]
    total = sum(math.exp(lm.step(ctx, c)[0]) for c in "catdgow") + math.exp(lm.end_log_prob(ctx))
    # what is left goes to the 50 unseen: their floor share, times each context's weight on the one below it
    # (12 tokens in 8 types; "c" then a or o; "^c" then a or o)
    assert total == pytest.approx(1 - (50 / 58) * (8 / 20) * (2 / 4) * (2 / 4))


def test_save_and_load_give_the_same_model(tmp_path):
    lm = CharNGram.fit(["street", "station", "€12,50"], order=5, source="hand", lexicon=["Street", "to"])
    lm.save(tmp_path / "m.lm.gz")
    back = CharNGram.load(tmp_path / "m.lm.gz")
    assert (back.order, back.counts, back.source, back.name) == (5, lm.counts, "hand", "m.lm.gz")
    assert back.step("stre", "E") == lm.step("stre", "e")
    assert back.lexicon == {"street", "to"}


def test_a_file_of_the_first_format_loads_without_a_lexicon(tmp_path):
    with gzip.open(tmp_path / "old.lm.gz", "wt") as f:
        f.write('{"format": 1, "kind": "char-ngram", "order": 2, "source": ""}\n' + "a\t3\n" + START + "a\t3\n")
    old = CharNGram.load(tmp_path / "old.lm.gz")
    assert old.counts == {"a": 3, START + "a": 3} and old.lexicon == frozenset()
    assert old.known_words("aa a") == 0


def test_the_lexicon_holds_lower_case_words_of_two_letters_or_more_and_counts_whole_runs():
    lm = CharNGram.fit(["cat"], order=3, lexicon=["Cat", "a", "on", "x-ray", "café"])
    assert lm.lexicon == {"cat", "on", "café"}  # "a": one letter; "x-ray": not one run of letters
    assert lm.known_words("CAT-ON 24") == 2
    assert lm.known_words("cats on") == 1  # a run counts whole or not at all
    assert lm.known_words("Café!") == 1 and lm.known_words("") == 0


def test_a_file_that_is_not_a_language_model_is_an_error_naming_it(tmp_path):
    (tmp_path / "junk.lm.gz").write_bytes(b"not gzip")
    with pytest.raises(LanguageModelError, match="junk.lm.gz"):
        CharNGram.load(tmp_path / "junk.lm.gz")
    with gzip.open(tmp_path / "other.lm.gz", "wt") as f:
        f.write('{"kind": "word-list"}\n')
    with pytest.raises(LanguageModelError, match="other.lm.gz: not a character n-gram"):
        CharNGram.load(tmp_path / "other.lm.gz")


def _frames(rows: list[dict[str, float]], charset: Charset) -> np.ndarray:
    """Frame probabilities from {character: probability} rows, the rest of each row on the blank."""
    probs = np.zeros((len(rows), charset.num_classes), np.float32)
    for t, row in enumerate(rows):
        for c, p in row.items():
            probs[t, charset.encode(c)[0]] = p
        probs[t, 0] = 1 - sum(row.values())
    return probs


def test_the_language_model_turns_a_faint_first_letter_into_the_word():
    charset = Charset("abcet")
    probs = _frames([{"e": 0.5, "c": 0.4}, {}, {"a": 0.95}, {}, {"t": 0.95}, {}], charset)
    assert greedy_decode(probs, charset).text == "eat"
    assert beam_decode(probs, charset).text == "eat"
    lm = CharNGram.fit(["cat", "cab", "car", "ace"], order=3)
    read = beam_decode(probs, charset, language_model=lm, lm_weight=0.5, length_bonus=1.0)
    assert read.text == "cat"
    assert read.confidence == pytest.approx((0.4 * 0.95 * 0.95) ** (1 / 3))  # the network's own, as always
    # weighed lightly, the pixels win
    assert beam_decode(probs, charset, language_model=lm, lm_weight=0.01).text == "eat"


def test_auto_gives_the_shipped_model_to_readers_of_words_only(tmp_path):
    assert resolve_language_model("auto", "0123456789abcdefghijklmnopqrstuvwxyz") is None
    assert resolve_language_model("none", LATIN) is None
    shipped = resolve_language_model("auto", LATIN)
    assert shipped.name == SHIPPED.name and shipped.order == 6
    with pytest.raises(LanguageModelError, match="missing.lm.gz: no such language model file"):
        resolve_language_model(str(tmp_path / "missing.lm.gz"), LATIN)
    CharNGram.fit(["abc"], order=2).save(tmp_path / "mine.lm.gz")
    assert resolve_language_model(str(tmp_path / "mine.lm.gz"), "abc").order == 2  # a file applies to any charset


def test_settings_reject_a_negative_weight_and_an_unknown_decoder():
    with pytest.raises(ValueError, match="lm_weight: expected a number >= 0"):
        RecognizerSettings(lm_weight=-1)
    with pytest.raises(ValueError, match="word_bonus: expected a number >= 0"):
        RecognizerSettings(word_bonus="lots")
    with pytest.raises(ValueError, match="decoder: expected auto, greedy or beam"):
        RecognizerSettings(decoder="lm")


def test_a_reader_uses_the_language_model_only_where_it_applies():
    from recognizer.reader import Reader

    def reader(chars, **settings):
        r = Reader()
        r.charset, r.settings = Charset(chars), RecognizerSettings(**settings)
        return r

    assert reader(LATIN).decoding.startswith("beam 10 with the language model latin.lm.gz (weight 0.4")
    assert reader(LATIN, decoder="greedy").language_model is None
    assert reader(LATIN, language_model="none").decoding == "greedy"
    assert reader(LATIN, language_model="none", decoder="beam").decoding == "beam 10"
    assert reader("0123456789abcdefghijklmnopqrstuvwxyz").decoding == "greedy"  # captchas: no words to weigh
    assert reader(LATIN, text_format="br").decoding == "best path fitting br"


def test_with_the_language_model_a_faint_lone_letter_is_still_read():
    charset = Charset("abct")
    probs = _frames([{}, {"t": 0.3}, {}], charset)
    assert beam_decode(probs, charset).text == ""  # the blank path is the more probable one
    lm = CharNGram.fit(["cat", "bat", "tab"], order=3)
    assert beam_decode(probs, charset, language_model=lm, lm_weight=0.4, length_bonus=0.75).text == "t"


def test_a_lone_glyph_is_the_networks_call_not_the_language_models():
    charset = Charset("1act")
    probs = _frames([{"t": 0.5, "1": 0.45}, {}], charset)  # a T the network slightly prefers to a 1
    lm = CharNGram.fit(["cat", "act"], order=3)  # a t alone is unlikely; digits cost nothing
    assert beam_decode(probs, charset, language_model=lm, lm_weight=1.0).text == "t"
    # the choice between one glyph and more is still weighed: "ca" beats a faint "c" followed by nothing
    probs = _frames([{"c": 0.9}, {}, {"a": 0.45}, {}], charset)
    assert beam_decode(probs, charset).text == "c"
    assert beam_decode(probs, charset, language_model=lm, lm_weight=1.0, length_bonus=1.0).text == "ca"


def test_a_whole_word_of_the_lexicon_is_rewarded():
    charset = Charset("acet")
    probs = _frames([{"c": 0.95}, {}, {"a": 0.5, "e": 0.45}, {}, {"t": 0.95}, {}], charset)
    lm = CharNGram.fit(["cat", "cet"], order=3, lexicon=["cet"])  # both spelt alike often; only one a word
    assert beam_decode(probs, charset, language_model=lm, lm_weight=0.4).text == "cat"
    assert beam_decode(probs, charset, language_model=lm, lm_weight=0.4, word_bonus=1.0).text == "cet"
