import numpy as np
import pytest

from detector.metrics import DetectionScore, match_image, polygon_iou


def square(x: float, y: float, size: float = 10) -> np.ndarray:
    """A size x size square with its top-left at (x, y), clockwise on screen: (4, 2) float32."""
    return np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]], np.float32)


def score(gts, ignore, dets) -> DetectionScore:
    s = DetectionScore()
    s.add(gts, ignore, dets)
    return s


def test_polygon_iou_by_hand():
    assert polygon_iou(square(0, 0), square(0, 0)) == pytest.approx(1.0)
    assert polygon_iou(square(0, 0), square(3, 0)) == pytest.approx(70 / 130)
    assert polygon_iou(square(0, 0), square(4, 0)) == pytest.approx(60 / 140)
    assert polygon_iou(square(0, 0), square(20, 0)) == 0.0
    assert polygon_iou(square(0, 0), square(0, 0, size=0)) == 0.0  # zero area
    assert polygon_iou(square(0, 0), square(0, 0)[:2]) == 0.0  # fewer than 3 points


def test_polygon_iou_repairs_a_bow_tie():
    bow_tie = np.array([[0, 0], [10, 10], [10, 0], [0, 10]], np.float32)  # self-intersecting
    assert 0.0 <= polygon_iou(bow_tie, square(0, 0)) <= 1.0


def test_perfect_match():
    s = score([square(0, 0), square(20, 0)], [False, False], np.stack([square(20, 0), square(0, 0)]))
    assert (s.precision, s.recall, s.hmean) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("shift,matched", [(3, 1), (4, 0)])  # IoU 70/130 = 0.538 matches; 60/140 = 0.429 not
def test_shifted_box_around_the_threshold(shift, matched):
    assert match_image([square(0, 0)], [False], [square(shift, 0)]) == (matched, 1, 1)


def test_one_gt_two_overlapping_dets_match_one_to_one():
    s = score([square(0, 0)], [False], [square(0, 0), square(1, 0)])
    assert s.as_dict()["matched"] == 1
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(1.0)
    assert s.hmean == pytest.approx(2 / 3)


def test_greedy_matching_takes_the_best_pair_first():
    # IoU(g0, d0) = 0.538, (g0, d1) = 1, (g1, d0) = 0.667, (g1, d1) = 0.333. Taking pairs in file order
    # would give g0 the first det above threshold (d0) and leave g1 unmatched; by IoU, both match.
    gts = [square(0, 0), square(5, 0)]
    dets = [square(3, 0), square(0, 0)]
    assert match_image(gts, [False, False], dets) == (2, 2, 2)


def test_detection_inside_dont_care_is_not_counted():
    gts = [square(0, 0), square(50, 0, size=20)]
    s = score(gts, [False, True], [square(0, 0), square(55, 5)])  # second det lies wholly inside "###"
    assert s.as_dict() == {"precision": 1.0, "recall": 1.0, "hmean": 1.0, "matched": 1, "num_gt": 1,
                           "num_det": 1, "images": 1}


def test_detection_mostly_outside_dont_care_is_a_false_positive():
    s = score([square(0, 0, size=20)], [True], [square(15, 0)])  # 50 of 100 px inside: not "mostly"
    assert (s.matched, s.num_gt, s.num_det) == (0, 0, 1)
    assert s.precision == 0.0 and s.recall == 1.0


def test_missed_gt_lowers_recall():
    s = score([square(0, 0), square(30, 0)], [False, False], [square(0, 0)])
    assert s.precision == 1.0
    assert s.recall == pytest.approx(0.5)
    assert s.hmean == pytest.approx(2 / 3)


def test_edge_cases_without_gts_or_dets():
    assert score([], [], []).as_dict()["hmean"] == 1.0
    none_found = score([square(0, 0)], [False], [])
    assert (none_found.precision, none_found.recall, none_found.hmean) == (0.0, 0.0, 0.0)
    nothing_to_find = score([], [], [square(0, 0)])
    assert (nothing_to_find.precision, nothing_to_find.recall) == (0.0, 1.0)
    with pytest.raises(ValueError, match="ignore flags"):
        match_image([square(0, 0)], [], [])


def test_accumulates_over_images():
    s = DetectionScore()
    assert s.add([square(0, 0)], [False], [square(0, 0)]) == (1, 1, 1)
    assert s.add([square(0, 0), square(30, 0)], [False, False], [square(30, 0), square(60, 0)]) == (1, 2, 2)
    # totals 2 matched of 3 gts and 3 dets, not the mean of per-image scores
    assert s.as_dict() == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "hmean": 2 / 3, "matched": 2,
                                         "num_gt": 3, "num_det": 3, "images": 2})
