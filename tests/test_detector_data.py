import json

import numpy as np
import pytest

from detector.data import (AnnotationError, ImageAnnotation, read_annotations, read_icdar_folder, read_icdar_gt,
                           read_labels_jsonl, split_by_names, write_labels_jsonl)

BOM = "\ufeff"


def test_icdar_gt_with_bom_comma_and_dont_care(tmp_path):
    gt = tmp_path / "gt_img_1.txt"
    gt.write_text(BOM + "377,117,463,117,465,130,378,130,Genaxis Theatre\r\n"
                  "10,20,60,20,60,40,10,40,\"Hello, World\"\r\n"
                  "\r\n"
                  "0,0,5,0,5,5,0,5,###\r\n", encoding="utf-8")
    a = read_icdar_gt(gt, tmp_path / "img_1.jpg")
    assert a.image == tmp_path / "img_1.jpg"
    assert a.texts == ["Genaxis Theatre", "\"Hello, World\"", "###"]  # BOM gone, comma kept, blank line skipped
    assert a.ignore == [False, False, True]
    assert a.polygons[0].dtype == np.float32 and a.polygons[0].shape == (4, 2)
    np.testing.assert_array_equal(a.polygons[0], [[377, 117], [463, 117], [465, 130], [378, 130]])


def test_icdar_gt_counter_clockwise_quad_is_reversed_keeping_first_point(tmp_path):
    gt = tmp_path / "gt_img_1.txt"
    gt.write_text("0,0,0,10,20,10,20,0,word\n", encoding="utf-8")
    np.testing.assert_array_equal(read_icdar_gt(gt, tmp_path / "img_1.jpg").polygons[0],
                                  [[0, 0], [20, 0], [20, 10], [0, 10]])


@pytest.mark.parametrize("bad", ["1,2,3,4,5,6,7,8", "1,2,3,4,5,6,7,x,word", "1,2,3,4,5,6,7,8.5,word"])
def test_icdar_gt_malformed_line_names_file_and_line(tmp_path, bad):
    gt = tmp_path / "gt_img_7.txt"
    gt.write_text(BOM + "1,1,9,1,9,9,1,9,ok\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"gt_img_7\.txt:2:"):
        read_icdar_gt(gt, tmp_path / "img_7.jpg")


@pytest.mark.parametrize("layout", ["flat", "subfolders"])
def test_icdar_folder_pairs_images_with_gt(tmp_path, layout):
    image_dir = tmp_path / "images" if layout == "subfolders" else tmp_path
    gt_dir = tmp_path / "gt" if layout == "subfolders" else tmp_path
    image_dir.mkdir(exist_ok=True)
    gt_dir.mkdir(exist_ok=True)
    for n in (1, 2):
        (image_dir / f"img_{n}.jpg").write_bytes(b"")
        (gt_dir / f"gt_img_{n}.txt").write_text(f"0,0,{n},0,{n},{n},0,{n},w{n}\n", encoding="utf-8-sig")
    anns = read_annotations(tmp_path)
    assert [a.image for a in anns] == [image_dir / "img_1.jpg", image_dir / "img_2.jpg"]
    assert [a.texts for a in anns] == [["w1"], ["w2"]]


def test_icdar_folder_image_without_gt_is_named(tmp_path):
    (tmp_path / "img_3.jpg").write_bytes(b"")
    with pytest.raises(AnnotationError, match="img_3.jpg"):
        read_icdar_folder(tmp_path)


def test_labels_jsonl_round_trip(tmp_path):
    (tmp_path / "images").mkdir()
    anns = [
        ImageAnnotation(tmp_path / "images" / "a.jpg",
                        [np.array([[1, 2], [30, 2], [30, 12], [1, 12]], np.float32),
                         np.array([[0, 0], [8, 0], [10, 4], [8, 8], [0, 8]], np.float32)],
                        ["STOP", "###"], [False, True]),
        ImageAnnotation(tmp_path / "images" / "b.png", [], [], []),
    ]
    write_labels_jsonl(tmp_path, anns)
    back = read_annotations(tmp_path)
    assert [a.image for a in back] == [a.image for a in anns]
    assert back[0].texts == ["STOP", "###"] and back[0].ignore == [False, True]
    for p, q in zip(back[0].polygons, anns[0].polygons):
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p, q)
    assert back[1].polygons == [] and back[1].texts == []


@pytest.mark.parametrize("bad,message", [
    ('{"image": "b.jpg", "words": [', "malformed JSON"),
    ('{"image": "b.jpg"}', "'words'"),
    ('{"image": "b.jpg", "words": [{"points": [[0, 0], [1, 1]], "text": "x"}]}', "at least 3"),
    ('{"image": "b.jpg", "words": [{"points": [[0, 0], [1, "a"], [2, 2]], "text": "x"}]}', "numeric"),
    ('{"image": "b.jpg", "words": [{"points": [[0, 0], [1, 0], [1, 1]]}]}', "'text'"),
    ('{"image": "a.jpg", "words": []}', "already listed on line 1"),
])
def test_labels_jsonl_malformed_line_names_file_and_line(tmp_path, bad, message):
    good = json.dumps({"image": "a.jpg", "words": [{"points": [[0, 0], [4, 0], [4, 4], [0, 4]], "text": "ok"}]})
    (tmp_path / "labels.jsonl").write_text(good + "\n\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"labels\.jsonl:3: ") as e:
        read_labels_jsonl(tmp_path)
    assert message in str(e.value)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(AnnotationError, match="no annotated images"):
        read_annotations(tmp_path)
    with pytest.raises(AnnotationError, match="not a folder"):
        read_annotations(tmp_path / "missing")


def test_split_by_names_keeps_order(tmp_path):
    anns = [ImageAnnotation(tmp_path / f"img_{n}.jpg", [], [], []) for n in (1, 2, 3)]
    train, val = split_by_names(anns, {"img_2.jpg", "img_9.jpg"})
    assert [a.image.name for a in train] == ["img_1.jpg", "img_3.jpg"]
    assert [a.image.name for a in val] == ["img_2.jpg"]
