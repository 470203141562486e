import itertools

import cv2
import numpy as np
import pytest
import shapely

from detector.labels import polygon_area, shrink_polygon
from detector.postprocess import boxes_from_prob, order_points, unclip

DB = {"bin_thresh": 0.3, "box_thresh": 0.6, "unclip_ratio": 1.5}  # DBNet's usual thresholds


def word_box(cx, cy, w, h, degrees=0.0):
    """A word's corners [TL, TR, BR, BL] as read, turned clockwise on screen (y down) by ``degrees``."""
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) @ rot.T + [cx, cy]


def fill_exact(prob, poly, value=1.0):
    """Set every pixel whose centre lies in ``poly`` (edges included): rasterisation without inflation."""
    ys, xs = np.mgrid[: prob.shape[0], : prob.shape[1]]
    prob[shapely.intersects_xy(shapely.Polygon(poly), xs, ys)] = value


def expected_size(shrunk):
    """The unclip formula on the shrunk rectangle: (long, short) sides grown by 2 D, D = 1.5 A / L."""
    _, (a, b), _ = cv2.minAreaRect(shrunk)
    d = 1.5 * a * b / (2 * (a + b))
    return max(a, b) + 2 * d, min(a, b) + 2 * d


def sides(quad):
    return np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[1])


def signed_area(poly):
    x, y = np.asarray(poly, dtype=np.float64).T
    return 0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_axis_aligned_corners_in_any_order():
    corners = word_box(50, 30, 80, 20)
    for perm in itertools.permutations(range(4)):
        np.testing.assert_allclose(order_points(corners[list(perm)]), corners, atol=1e-4)


@pytest.mark.parametrize("degrees", [30, -30, 10, 60, -75])
def test_rotated_word_starts_at_its_top_left(degrees):
    corners = word_box(100, 100, 100, 20, degrees)
    out = order_points(corners[[2, 0, 3, 1]])
    assert out.dtype == np.float32 and out.shape == (4, 2)
    np.testing.assert_allclose(out, corners, atol=1e-3)
    assert signed_area(out) > 0  # positive with y down: clockwise on screen


@pytest.mark.parametrize("degrees", [89, -89, 90])
def test_near_vertical_box_is_read_upright_from_its_screen_top_left(degrees):
    corners = word_box(100, 100, 100, 20, degrees)
    out = order_points(corners[[1, 3, 0, 2]])
    # Long sides within 10 degrees of vertical: the top edge is the short side nearer the top of the
    # screen, so the first corner is the one with the smallest x + y and the box stays tall.
    np.testing.assert_allclose(out[0], corners[np.argmin(corners.sum(axis=1))], atol=1e-3)
    w, h = sides(out)
    assert w == pytest.approx(20, abs=1e-3) and h == pytest.approx(100, abs=1e-3)
    assert signed_area(out) > 0


def test_upright_tall_box_keeps_its_orientation():
    corners = word_box(40, 40, 12, 30)  # e.g. a lone "1"
    np.testing.assert_allclose(order_points(corners[::-1]), corners, atol=1e-4)


def test_near_square_box_takes_the_side_closest_to_horizontal_as_top():
    # 22 x 20 turned 60 degrees looks like 20 x 22 turned -30: too square to tell, so read it upright.
    corners = word_box(50, 50, 22, 20, 60)
    as_upright = np.roll(corners, 1, axis=0)  # [BL, TL, TR, BR] of the 60-degree reading
    np.testing.assert_allclose(order_points(corners), as_upright, atol=1e-3)


def test_order_points_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"shape \(4, 2\)"):
        order_points(np.zeros((5, 2)))


def test_unclip_grows_by_the_formula_distance():
    grown = unclip(np.array([[0, 0], [40, 0], [40, 10], [0, 10]], dtype=np.float64), 1.5)  # D = 400*1.5/100 = 6
    assert grown.dtype == np.float32
    np.testing.assert_allclose(grown.min(axis=0), [-6, -6], atol=0.05)
    np.testing.assert_allclose(grown.max(axis=0), [46, 16], atol=0.05)  # 52 x 22 bounding box
    assert polygon_area(grown) < 52 * 22  # the corners are rounded
    assert unclip(np.array([[0, 0], [5, 0], [10, 0]])).shape == (0, 2)


def make_map():
    """Two words at half resolution: one axis-aligned, one turned 20 degrees, filled shrunk (r = 0.4)."""
    prob = np.zeros((130, 200), dtype=np.float32)
    words = [word_box(70, 30, 100, 20), word_box(120, 85, 120, 24, 20)]
    shrunk = [shrink_polygon(w, 0.4) for w in words]
    for s in shrunk:
        fill_exact(prob, s)
    return prob, words, shrunk


def test_boxes_are_recovered_at_the_unclip_size_in_image_pixels():
    prob, words, shrunk = make_map()
    quads, scores = boxes_from_prob(prob, scale=(2.0, 2.0), **DB, image_size=(400, 260))
    assert quads.shape == (2, 4, 2) and quads.dtype == np.float32
    assert scores.shape == (2,) and scores.dtype == np.float32 and (scores == 1).all()
    found = sorted(quads, key=lambda q: q[:, 1].mean())  # the axis-aligned word is higher
    for quad, word, s in zip(found, words, shrunk):
        long_side, short_side = expected_size(s)
        w, h = sides(quad)
        assert w == pytest.approx(2 * long_side, abs=2) and h == pytest.approx(2 * short_side, abs=2)
        np.testing.assert_allclose(quad.mean(axis=0), 2 * word.mean(axis=0), atol=2)
    # Point order: the first corner is the word's top-left; the top edge runs along the word.
    np.testing.assert_allclose(found[0][0], 2 * (np.array([27, 27]) - 4.21), atol=2)  # shrunk TL - D
    top = found[1][1] - found[1][0]
    assert np.degrees(np.arctan2(top[1], top[0])) == pytest.approx(20, abs=1)
    assert all(signed_area(q) > 0 for q in quads)


def test_polygon_mode_returns_grown_contours():
    prob, words, shrunk = make_map()
    polys, scores = boxes_from_prob(prob, scale=(2.0, 2.0), **DB, polygons=True)
    assert isinstance(polys, list) and len(polys) == 2 and scores.shape == (2,)
    top = min(polys, key=lambda p: p[:, 1].mean())
    assert top.dtype == np.float32 and top.ndim == 2 and top.shape[1] == 2
    long_side, short_side = expected_size(shrunk[0])
    np.testing.assert_allclose(top.max(axis=0) - top.min(axis=0), [2 * long_side, 2 * short_side], atol=2)
    assert all(signed_area(p) > 0 for p in polys)


def test_box_thresh_drops_a_faint_region():
    prob = np.zeros((60, 120), dtype=np.float32)
    fill_exact(prob, word_box(30, 30, 40, 12), 0.9)
    fill_exact(prob, word_box(90, 30, 40, 12), 0.4)  # above bin_thresh, below box_thresh
    quads, scores = boxes_from_prob(prob, **DB)
    assert len(quads) == 1 and scores[0] == pytest.approx(0.9)
    assert quads[0][:, 0].max() < 60
    assert len(boxes_from_prob(prob, **{**DB, "box_thresh": 0.3})[0]) == 2


def test_small_region_is_dropped_by_min_size():
    prob = np.zeros((40, 40), dtype=np.float32)
    prob[20, 10:30] = 1.0  # one pixel tall: grows to about 4 px, under min_size + 2 = 5
    assert len(boxes_from_prob(prob, **DB)[0]) == 0


def test_boxes_are_clipped_to_the_image():
    prob = np.zeros((50, 100), dtype=np.float32)
    prob[0:12, 0:40] = 1.0  # touches the map's top-left edge; growing pushes it outside
    quads, _ = boxes_from_prob(prob, scale=(2.0, 2.0), **DB, image_size=(200, 100))
    assert len(quads) == 1 and quads.min() == 0 and quads[..., 0].max() <= 199 and quads[..., 1].max() <= 99


def test_empty_map_gives_empty_outputs():
    quads, scores = boxes_from_prob(np.zeros((32, 48), dtype=np.float32), **DB)
    assert quads.shape == (0, 4, 2) and quads.dtype == np.float32
    assert scores.shape == (0,) and scores.dtype == np.float32
    polys, scores = boxes_from_prob(np.zeros((32, 48)), **DB, polygons=True)
    assert polys == [] and scores.shape == (0,)


def test_bad_map_is_rejected():
    with pytest.raises(ValueError, match=r"shape \(H, W\)"):
        boxes_from_prob(np.zeros((1, 32, 48)), **DB)
    with pytest.raises(ValueError, match="scale"):
        boxes_from_prob(np.zeros((32, 48)), scale=(0.0, 1.0), **DB)


def test_a_dense_page_keeps_all_its_words_and_over_the_cap_the_largest():
    # 60 rows of 40 words: 2,400 regions, more than DBNet's usual cap of 1,000 candidates
    prob = np.zeros((60 * 12, 40 * 20), dtype=np.float32)
    for r in range(60):
        for c in range(40):
            prob[r * 12 + 3 : r * 12 + 9, c * 20 + 3 : c * 20 + 17] = 0.9
    quads, scores = boxes_from_prob(prob, bin_thresh=0.5, box_thresh=0.6, unclip_ratio=1.5, min_size=1)
    assert len(quads) == 2400
    assert quads[:, :, 1].min() < 12  # the top row is there too
    prob[0:10, 0:100] = 0.9  # one region larger than every word
    quads, _ = boxes_from_prob(prob, bin_thresh=0.5, box_thresh=0.6, unclip_ratio=1.5, min_size=1, max_candidates=10)
    assert len(quads) == 10
    widths = np.ptp(quads[:, :, 0], axis=1)
    assert widths.max() > 100  # the large region is among the ten kept
