import pytest

from recognizer.metrics import edit_distance, text_metrics


@pytest.mark.parametrize("a,b,d", [("", "", 0), ("abc", "abc", 0), ("abc", "", 3), ("kitten", "sitting", 3),
                                   ("abcd", "acbd", 2), ("ab", "ba", 2)])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d == edit_distance(b, a)


def test_text_metrics_on_hand_made_pairs():
    m = text_metrics(["abcd", "abxd", "ab"], ["abcd", "abcd", "abcd"])
    assert m["count"] == 3
    assert m["seq_acc"] == pytest.approx(1 / 3)
    assert m["char_acc"] == pytest.approx(1 - 3 / 12)  # distances 0 + 1 + 2 over 12 characters
    assert m["norm_ed"] == pytest.approx((0 + 1 / 4 + 2 / 4) / 3)


def test_text_metrics_length_mismatch():
    with pytest.raises(ValueError):
        text_metrics(["a"], [])
