"""The onnxruntime backend: exports read as their torch models, shipped exports match shipped weights, the onnx
path imports no torch, and auto picks it only where an export exists."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from detector.checkpoint import make_checkpoint as detector_checkpoint  # noqa: E402
from detector.config import DetectorConfig, DetectorSettings  # noqa: E402
from detector.model import DBNet  # noqa: E402
from detector.onnx import OnnxDetector, export_detector  # noqa: E402
from detector.predict import Detector  # noqa: E402
from ocr.config import load_config  # noqa: E402
from ocr.pipeline import Pipeline, choose_backend  # noqa: E402
from recognizer.charset import Charset  # noqa: E402
from recognizer.checkpoint import make_checkpoint  # noqa: E402
from recognizer.config import RecognizerConfig, RecognizerSettings  # noqa: E402
from recognizer.model import CRNN  # noqa: E402
from recognizer.onnx import OnnxRecognizer, export_recognizer  # noqa: E402
from recognizer.predict import Recognizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)
CROPS = [RNG.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(30, 90), (64, 128), (20, 300), (50, 40)]]
PHOTOS = [RNG.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(96, 160), (130, 90), (96, 160)]]


def random_batchnorm(model):
    for m in model.modules():  # non-trivial statistics, so folding matters
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.mark.parametrize("backbone", ["vgg", "resnet"])
def test_recognizer_export_reads_as_torch(tmp_path, backbone):
    torch.manual_seed(0)
    model = random_batchnorm(CRNN(RecognizerConfig(width_mult=0.125, hidden=16, backbone=backbone), 6))
    rec = Recognizer(model, Charset("abcde"), RecognizerSettings(batch_size=3), device="cpu")
    onnx_rec = OnnxRecognizer.load(export_recognizer(rec, tmp_path / "r.onnx"), RecognizerSettings(batch_size=3))
    np.testing.assert_allclose(onnx_rec.probabilities(CROPS), rec.probabilities(CROPS), atol=1e-5)
    assert [r.text for r in onnx_rec(CROPS)] == [r.text for r in rec(CROPS)]
    assert onnx_rec.charset == rec.charset and onnx_rec.cfg == rec.cfg


def test_detector_export_finds_the_same_boxes(tmp_path):
    torch.manual_seed(0)
    model = random_batchnorm(DBNet(DetectorConfig(width_mult=0.125, neck=16)))
    with torch.no_grad():
        model.prob_head[-1].bias.fill_(0.5)
    settings = DetectorSettings(max_side=128, bin_thresh=0.5, box_thresh=0.5)
    det = Detector(model, settings, device="cpu")
    onnx_det = OnnxDetector.load(export_detector(det, tmp_path / "d.onnx"), settings)
    for want, got in zip(det(PHOTOS), onnx_det(PHOTOS)):
        np.testing.assert_allclose(got.quads, want.quads, atol=1e-3)
        np.testing.assert_allclose(got.scores, want.scores, atol=1e-5)
    assert sum(len(d.quads) for d in det(PHOTOS)) > 0


@pytest.mark.parametrize("name", ["words", "captcha", "captcha-v2", "captcha-base", "plates"])
def test_shipped_recognizer_exports_match_their_weights(name):
    """Retrained weights without a fresh export (ocr-export NAME) fail here."""
    torch_rec, onnx_rec = Recognizer.load(name, device="cpu"), OnnxRecognizer.load(name)
    np.testing.assert_allclose(onnx_rec.probabilities(CROPS), torch_rec.probabilities(CROPS), atol=1e-4)


def test_shipped_detector_export_matches_its_weights_on_the_example():
    from engine.images import load_image

    image = load_image(ROOT / "examples" / "scene.jpg")
    want = Detector.load("db", device="cpu")([image])[0]
    got = OnnxDetector.load("db", DetectorSettings(int8=False))([image])[0]
    assert len(want.quads) == len(got.quads) >= 8
    np.testing.assert_allclose(got.quads, want.quads, atol=0.5)
    # its int8 copy (ocr-export db --int8 ...) finds nearly the same words, a few pixels apart at most (on this
    # example it joins two words of one line that the float network keeps apart; held-out photos and forms score
    # within 0.002 of the float network's detection H-mean)
    assert OnnxDetector.load("db").network.path.name == "db.int8.onnx"
    near = OnnxDetector.load("db")([image])[0]
    gaps = np.abs(near.quads[None] - want.quads[:, None]).max(axis=(2, 3))  # (float box, int8 box): worst corner
    found = gaps.min(axis=1) <= 8
    assert found.mean() >= 0.8 and len(near.quads) <= len(want.quads)
    np.testing.assert_allclose(near.scores[gaps[found].argmin(axis=1)], want.scores[found], atol=0.02)


def test_both_backends_read_the_example_alike():
    # the same float networks on both (the int8 detector is an approximation of its own, tested above)
    pipelines = [Pipeline.from_config(load_config(overrides={"device": "cpu", "backend": b,
                                                             "detector": {"int8": False}})) for b in ("torch", "onnx")]
    assert isinstance(pipelines[0].recognizer, Recognizer) and isinstance(pipelines[1].recognizer, OnnxRecognizer)
    results = [p(str(ROOT / "examples" / "scene.jpg")) for p in pipelines]
    assert [w.text for w in results[0].words] == [w.text for w in results[1].words]


def test_the_onnx_path_imports_no_torch():
    code = ("import sys; from ocr.cli import main; "
            "code = main(['--no-detect', '--backend', 'onnx', '--model', 'captcha', 'examples/captcha.png']); "
            "print('torch' in sys.modules, code)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False 0", out.stderr
    assert "examples/captcha.png\t4eh452" in out.stdout


def test_auto_takes_onnx_only_where_an_export_exists(tmp_path, capsys):
    torch.manual_seed(0)
    cfg = RecognizerConfig(width_mult=0.125, hidden=16)
    torch.save(make_checkpoint(CRNN(cfg, 4).eval(), Charset("abc")), tmp_path / "mine.pt")
    torch.save(detector_checkpoint(DBNet(DetectorConfig(width_mult=0.125, neck=16)).eval()), tmp_path / "det.pt")
    mine = load_config(overrides={"device": "cpu", "recognizer": {"model": str(tmp_path / "mine.pt")}})
    assert choose_backend(load_config(overrides={"device": "cpu"}), detect=True) == "onnx"  # shipped: exported
    assert choose_backend(mine, detect=False) == "torch"
    with pytest.raises(FileNotFoundError, match="ocr-export"):
        Pipeline.from_config(load_config(overrides={"backend": "onnx", "recognizer": {"model": str(tmp_path / "mine.pt")}}),
                             detect=False)
    from ocr.export import main as export_main

    assert export_main([str(tmp_path / "mine.pt"), str(tmp_path / "det.pt")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "mine.onnx").is_file() and (tmp_path / "det.onnx").is_file()
    assert choose_backend(mine, detect=False) == "onnx"
    assert export_main([str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt" in capsys.readouterr().err


def test_a_detector_int8_copy_is_calibrated_kept_beside_its_export_and_preferred(tmp_path):
    import onnx

    from detector.onnx import int8_path, onnx_path, quantize_detector

    torch.manual_seed(0)
    model = random_batchnorm(DBNet(DetectorConfig(width_mult=0.125, neck=16)))
    settings = DetectorSettings(max_side=128)
    export = export_detector(Detector(model, settings, device="cpu"), tmp_path / "d.onnx")
    path, difference = quantize_detector(export, PHOTOS, settings)
    assert path == tmp_path / "d.int8.onnx" == int8_path(export) and 0 <= difference < 0.02
    graph = onnx.load(str(path)).graph
    produced_by = {out: node.op_type for node in graph.node for out in node.output}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    quantized = [produced_by.get(node.input[1]) == "DequantizeLinear" for node in convs]
    # the first convolution (raw pixels) and the probability head stay float, the rest is int8
    assert not quantized[0] and all(quantized[1:-1]) and not quantized[-1] and "prob_head" in convs[-1].name
    assert OnnxDetector.load(export, settings).network.path == path  # int8 (the default) where there is one
    assert OnnxDetector.load(export, DetectorSettings(max_side=128, int8=False)).network.path == export
    assert onnx_path(tmp_path / "d.onnx", int8=True) == path
    path.unlink()
    assert onnx_path(tmp_path / "d.onnx", int8=True) == export  # no int8 copy: the export itself


def test_a_retrained_detector_exports_beside_its_old_int8_copy(tmp_path, capsys):
    """The export is checked against its torch model, not against the int8 copy the onnx backend prefers: that
    one is still the old network's until --int8 replaces it."""
    from ocr.export import main as export_main

    for seed in (0, 1):  # the first training, then the retrained weights in the same file
        torch.manual_seed(seed)
        torch.save(detector_checkpoint(random_batchnorm(DBNet(DetectorConfig(width_mult=0.125, neck=16)))),
                   tmp_path / "det.pt")
        assert export_main([str(tmp_path / "det.pt")]) == 0, capsys.readouterr().err
        (tmp_path / "det.onnx").replace(tmp_path / "det.int8.onnx")  # the first network's stand-in int8 copy


def test_ocr_export_int8_refuses_recognizers_and_empty_calibration(tmp_path, capsys):
    from ocr.export import main as export_main

    torch.manual_seed(0)
    torch.save(make_checkpoint(CRNN(RecognizerConfig(width_mult=0.125, hidden=16), 4).eval(), Charset("abc")),
               tmp_path / "mine.pt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        export_main([str(tmp_path / "mine.pt"), "--int8", str(tmp_path / "empty")])
    assert "--int8: no images in" in capsys.readouterr().err
    Image.fromarray(PHOTOS[0]).save(tmp_path / "photo.png")
    assert export_main([str(tmp_path / "mine.pt"), "--int8", str(tmp_path / "photo.png")]) == 2
    assert "int8 copies of detectors only" in capsys.readouterr().err
    assert not (tmp_path / "mine.int8.onnx").exists()
