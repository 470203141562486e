"""Annotated-image drawing: outlines on polygon edges, labels placed beside them, nothing else touched."""
import numpy as np
import pytest

from ocr.draw import draw_words, printable

BOX = np.array([[50, 60], [150, 60], [150, 90], [50, 90]], dtype=np.float32)


def grey(h: int = 200, w: int = 300, value: int = 128) -> np.ndarray:
    return np.full((h, w, 3), value, dtype=np.uint8)


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels where any channel differs."""
    return (a != b).any(axis=2)


def test_output_shape_dtype_and_input_untouched():
    image = grey()
    before = image.copy()
    out = draw_words(image, [(BOX, "hello")])
    assert out.shape == image.shape and out.dtype == np.uint8
    assert out is not image
    np.testing.assert_array_equal(image, before)


def test_empty_words_returns_an_equal_copy():
    image = grey()
    out = draw_words(image, [])
    np.testing.assert_array_equal(out, image)
    assert out is not image


def test_edges_coloured_and_far_pixels_unchanged():
    image = grey()
    out = draw_words(image, [(BOX, "hello")])
    diff = changed(out, image)
    assert diff[60, 55:145].all() and diff[90, 55:145].all()  # top and bottom edges
    assert diff[65:85, 50].all() and diff[65:85, 150].all()  # left and right edges
    assert not diff[70:80, 60:140].any()  # inside, away from the outline
    np.testing.assert_array_equal(out[130:, 180:], image[130:, 180:])  # a far corner


def test_label_above_when_there_is_room():
    image = grey()
    diff = changed(draw_words(image, [(BOX, "hello")]), image)
    assert diff[:56, 50:150].any()  # label above the top edge's halo
    assert not diff[95:].any()  # nothing below the bottom edge's halo


def test_label_below_when_box_touches_the_top():
    image = grey()
    box = np.array([[50, 0], [150, 0], [150, 30], [50, 30]], dtype=np.float32)
    diff = changed(draw_words(image, [(box, "hello")]), image)
    assert diff[35:, 50:150].any()  # label below the bottom edge's halo
    assert not diff[:, 160:].any()


@pytest.mark.parametrize("value", [0, 255])
def test_outline_visible_on_black_and_white(value):
    image = grey(value=value)
    out = draw_words(image, [(BOX, "word")])
    diff = changed(out, image)
    assert diff[60, 55:145].all() and diff[65:85, 150].all()


def test_label_near_right_edge_stays_inside():
    image = grey()
    box = np.array([[270, 60], [298, 60], [298, 90], [270, 90]], dtype=np.float32)
    out = draw_words(image, [(box, "a rather long label")])
    assert out.shape == image.shape
    diff = changed(out, image)
    assert diff[40:56, 200:270].any()  # the label slid left to fit, still just above the box
    assert diff[:56, 299].any()  # and reaches the right edge rather than being cut off before it


def test_label_near_left_edge_stays_inside():
    image = grey()
    box = np.array([[-20, 60], [40, 60], [40, 90], [-20, 90]], dtype=np.float32)
    diff = changed(draw_words(image, [(box, "left")]), image)
    assert diff[:56, 0].any()


def test_explicit_sizes_and_non_quad_polygon():
    image = grey()
    hexagon = np.array([[60, 100], [120, 100], [140, 120], [120, 140], [60, 140], [40, 120]], dtype=np.float64)
    out = draw_words(image, [(hexagon, "hex")], line_width=3, font_size=24)
    diff = changed(out, image)
    assert diff[100, 70:110].all()
    assert diff[:95, 40:140].any()


@pytest.mark.parametrize("text", ["日本", "café €5\n", "", "Ωμέγα"])
def test_unusual_text_does_not_raise(text):
    image = grey()
    out = draw_words(image, [(BOX, text)])
    assert out.shape == image.shape


def test_printable_replaces_what_the_font_cannot_draw():
    assert printable("日本") == "??"
    assert printable("café") == "cafe"
    assert printable("ok 42!") == "ok 42!"


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((20, 20), dtype=np.uint8),
        np.zeros((20, 20, 4), dtype=np.uint8),
        np.zeros((20, 20, 3), dtype=np.float32),
        [[0, 0, 0]],
    ],
)
def test_bad_image_raises(image):
    with pytest.raises(ValueError, match="RGB uint8"):
        draw_words(image, [(BOX, "x")])


@pytest.mark.parametrize(
    "points",
    [
        np.zeros((2, 2)),
        np.zeros((4, 3)),
        np.zeros(8),
        np.array([[0, 0], [10, 0], [10, np.nan], [0, 10]]),
    ],
)
def test_bad_points_raise(points):
    with pytest.raises(ValueError, match="word 0"):
        draw_words(grey(), [(points, "x")])


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="line_width"):
        draw_words(grey(), [(BOX, "x")], line_width=0)


def test_small_print_gets_a_text_panel_and_photos_keep_their_labels():
    page = np.full((300, 400, 3), 255, np.uint8)
    line = [(np.array([[20 + 60 * i, 100], [70 + 60 * i, 100], [70 + 60 * i, 108], [20 + 60 * i, 108]], float), "word")
            for i in range(5)]  # 8 px high: smaller than the 10 px labels would be
    out = draw_words(page, line)
    assert out.shape == (300, 800, 3)
    left, panel = out[:, :400], out[:, 400:]
    assert (left[:90] == 255).all() and (left[120:] == 255).all()  # no label above or below the words
    assert (panel[101:108, 22:68] < 128).any() and (panel[150:] == 255).all()  # the text stands where its word is
    assert draw_words(page, line, layout="labels").shape == page.shape
    big = [(np.array([[20, 100], [200, 100], [200, 140], [20, 140]], float), "word")]
    assert draw_words(page, big).shape == page.shape and draw_words(page, big, layout="panel").shape == (300, 800, 3)
    with pytest.raises(ValueError, match="layout"):
        draw_words(page, big, layout="side")
