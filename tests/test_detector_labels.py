import numpy as np
import pytest

from detector.labels import make_targets, offset_polygon, polygon_area, shrink_distance, shrink_polygon


def box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


WORD = box(10, 10, 110, 30)  # 100 x 20: A = 2000, L = 240, so D = 2000 * 0.84 / 240 = 7 at r = 0.4
H, W = 50, 130


def rotated_box(cx, cy, w, h, degrees):
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) @ rot.T + [cx, cy]


def test_shrink_distance_of_a_rectangle():
    assert shrink_distance(WORD, 0.4) == pytest.approx(7.0)


def test_shrunk_rectangle_is_inset_by_the_distance_on_every_side():
    shrunk = shrink_polygon(WORD, 0.4)
    assert shrunk.dtype == np.float32 and shrunk.shape[1] == 2
    np.testing.assert_allclose(shrunk.min(axis=0), [17, 17], atol=0.01)
    np.testing.assert_allclose(shrunk.max(axis=0), [103, 23], atol=0.01)  # 86 x 6


@pytest.mark.parametrize("degrees", [0, 20, -35])
def test_shrunk_area_matches_the_formula(degrees):
    poly = rotated_box(60, 40, 100, 20, degrees)
    d = shrink_distance(poly)
    assert polygon_area(shrink_polygon(poly)) == pytest.approx((100 - 2 * d) * (20 - 2 * d), rel=1e-3)


def test_shrunk_triangle_is_similar_about_the_incentre():
    tri = np.array([[0, 0], [40, 0], [0, 30]], dtype=np.float64)  # 30-40-50: A = 600, L = 120, inradius 10
    d = shrink_distance(tri)
    assert d == pytest.approx(600 * 0.84 / 120)
    assert polygon_area(shrink_polygon(tri)) == pytest.approx(600 * ((10 - d) / 10) ** 2, rel=1e-3)


def test_offset_grows_and_shrinks_a_box():
    np.testing.assert_allclose(offset_polygon(box(0, 0, 40, 10), 6).min(axis=0), [-6, -6], atol=0.01)
    assert offset_polygon(box(0, 0, 40, 10), -6) is None  # thinner than 12 px: nothing left


def test_degenerate_polygon_shrinks_to_nothing():
    assert shrink_polygon(np.array([[10, 10], [50, 10], [30, 10]])) is None  # collinear: no area


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"shape \(N >= 3, 2\)"):
        shrink_polygon(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shrink ratio"):
        shrink_distance(WORD, 1.0)
    with pytest.raises(ValueError, match="2 polygons but 1 ignore"):
        make_targets([WORD, WORD], [False], H, W)


def test_maps_are_float32_of_the_map_size():
    t = make_targets([WORD], [False], H, W)
    assert set(t) == {"prob", "prob_mask", "thresh", "thresh_mask"}
    assert all(m.dtype == np.float32 and m.shape == (H, W) for m in t.values())


def test_prob_is_one_exactly_on_the_shrunk_rectangle():
    t = make_targets([WORD], [False], H, W)
    expected = np.zeros((H, W), dtype=np.float32)
    expected[17:24, 17:104] = 1  # pixel centres of the 86 x 6 shrunk box, edges included
    np.testing.assert_array_equal(t["prob"], expected)
    np.testing.assert_array_equal(t["prob_mask"], np.ones((H, W)))


def test_thresh_peaks_on_the_border_and_falls_to_min_away_from_it():
    th = make_targets([WORD], [False], H, W)["thresh"]
    assert th.min() >= 0.3 - 1e-6 and th.max() <= 0.7 + 1e-6
    np.testing.assert_allclose(th[10, 10:111], 0.7, atol=1e-6)  # top edge
    np.testing.assert_allclose(th[10:31, 110], 0.7, atol=1e-6)  # right edge
    np.testing.assert_allclose(th[5, 60], 0.3 + 0.4 * (1 - 5 / 7), atol=1e-6)  # 5 px outside the top edge
    np.testing.assert_allclose(th[17, 60], 0.3 + 0.4 * (1 - 7 / 7), atol=1e-6)  # 7 px inside
    assert th[0, 0] == pytest.approx(0.3) and th[20, 60] == pytest.approx(0.3)  # far off; deep inside
    assert th[45, 60] == pytest.approx(0.3)


def test_thresh_mask_covers_the_dilated_box():
    m = make_targets([WORD], [False], H, W)["thresh_mask"]
    assert (m[3:38, 10:111] == 1).all() and (m[10:31, 3:118] == 1).all()  # the box grown by D = 7
    assert m[:3].sum() == 0 and m[38:].sum() == 0 and m[:, :3].sum() == 0 and m[:, 118:].sum() == 0
    assert m[3, 3] == 0 and m[37, 117] == 0  # corners are rounded: (3, 3) lies 9.9 px from the box


def test_overlapping_thresholds_keep_the_max():
    other = box(10, 36, 110, 46)  # 10 px tall: D = 1000 * 0.84 / 220
    t = make_targets([WORD, other], [False, False], H, W)
    assert t["thresh"][36, 60] == pytest.approx(0.7)  # on the second word's border
    # Row 33 is 3 px from both: v = 1 - 3/7 from the first beats 1 - 3/3.82 from the second.
    assert t["thresh"][33, 60] == pytest.approx(0.3 + 0.4 * (1 - 3 / 7))


def test_dont_care_word_is_masked_and_not_positive():
    dont_care = box(10, 36, 110, 46)
    t = make_targets([WORD, dont_care], [False, True], H, W)
    assert (t["prob_mask"][36:47, 10:111] == 0).all()
    assert t["prob_mask"].sum() == H * W - 11 * 101
    assert t["prob"][36:47].sum() == 0
    # Its own border is absent from the threshold map: only the first word's dilation reaches row 36.
    assert t["thresh_mask"][38:].sum() == 0 and t["thresh"][41, 60] == pytest.approx(0.3)


def test_polygon_that_shrinks_to_nothing_is_masked():
    sliver = np.array([[20, 40], [100, 40], [60, 40]], dtype=np.float64)  # no area; min side 0
    t = make_targets([WORD, sliver], [False, False], H, W, min_size=0)
    assert (t["prob_mask"][40, 20:101] == 0).all() and t["prob_mask"].sum() == H * W - 81
    assert t["prob"][35:].sum() == 0 and t["thresh_mask"][38:].sum() == 0


def test_small_box_is_masked_below_min_size():
    tiny = box(40, 40, 50, 42)  # 10 x 2: shorter than min_size = 3
    t = make_targets([tiny], [False], H, W)
    assert (t["prob_mask"][40:43, 40:51] == 0).all() and t["prob_mask"].sum() == H * W - 3 * 11
    assert t["prob"].sum() == 0 and t["thresh_mask"].sum() == 0
    assert make_targets([tiny], [False], H, W, min_size=2)["prob"].sum() > 0


def test_polygons_are_clipped_to_the_map():
    half_out = box(-20, 10, 40, 30)  # clamps to 0..40 x 10..30
    outside = box(200, 10, 260, 30)
    t = make_targets([half_out, outside], [False, False], H, W)
    assert t["prob"][:, :30].sum() > 0 and t["prob"][:, 60:].sum() == 0
    assert t["thresh"][10, 0] == pytest.approx(0.7)


def test_rotated_word_stays_in_range():
    t = make_targets([rotated_box(65, 25, 80, 16, 20)], [False], H, W)
    assert 0.3 - 1e-6 <= t["thresh"].min() and t["thresh"].max() <= 0.7 + 1e-6
    assert t["prob"][25, 65] == 1 and t["prob"][0, 0] == 0
    assert ((t["prob"] == 1) <= (t["thresh_mask"] == 1)).all()  # positives lie inside the dilation
