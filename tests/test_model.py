import numpy as np
import pytest
import torch

from engine.inference import fuse_batchnorm

from recognizer.charset import Charset
from recognizer.checkpoint import make_checkpoint, read_checkpoint, resolve_weights
from recognizer.config import RecognizerConfig, RecognizerSettings
from engine.layers import count_parameters
from recognizer.model import CRNN
from recognizer.predict import Recognizer
from recognizer.transforms import preprocess, resize_for_model

CHARSET = Charset("0123456789abcdefghijklmnopqrstuvwxyz")


@pytest.mark.parametrize("size,low,high", [("fast", 0.9e6, 1.1e6), ("full", 8.5e6, 9.0e6), ("resnet", 2.5e6, 5e6)])
def test_parameter_counts_of_the_named_sizes(size, low, high):
    model = CRNN(RecognizerConfig.from_size(size), CHARSET.num_classes)
    assert low <= count_parameters(model) <= high


@pytest.mark.parametrize("backbone", ["vgg", "resnet"])
@pytest.mark.parametrize("rnn", ["lstm", "gru"])
@pytest.mark.parametrize("width,height", [(128, 64), (96, 32)])
def test_logits_have_one_step_per_four_columns(rnn, width, height, backbone):
    cfg = RecognizerConfig(width=width, height=height, rnn=rnn, width_mult=0.125, hidden=16, backbone=backbone)
    logits = CRNN(cfg, 11)(torch.zeros(3, 1, height, width))
    assert logits.shape == (width // 4, 3, 11) and cfg.time_steps == width // 4


def test_rgb_model_takes_three_channels():
    cfg = RecognizerConfig(channels=3, width_mult=0.125, hidden=16)
    assert CRNN(cfg, 5)(torch.zeros(1, 3, 64, 128)).shape == (32, 1, 5)
    assert preprocess(np.zeros((10, 30, 3), np.uint8), cfg).shape == (3, 64, 128)


@pytest.mark.parametrize("bad", [dict(width=130), dict(height=40), dict(channels=2), dict(resize="crop"), dict(rnn="tcn")])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        RecognizerConfig(**bad)


def test_stretch_and_pad_resizing():
    cfg_stretch, cfg_pad = RecognizerConfig(resize="stretch"), RecognizerConfig(resize="pad")
    square = np.zeros((32, 32), np.uint8)
    square[:, :8] = 200  # left quarter bright
    stretched = resize_for_model(square, cfg_stretch)  # x4 across, x2 down
    assert stretched.shape == (64, 128) and (stretched[:, :30] == 200).all() and (stretched[:, 34:] == 0).all()
    padded = resize_for_model(square, cfg_pad)
    # aspect kept: the 32x32 crop becomes 64x64 on the left, the rest is filled with its median (0)
    assert padded.shape == (64, 128)
    assert (padded[:, :14] == 200).all() and (padded[:, 18:64] == 0).all() and (padded[:, 64:] == 0).all()
    wide = np.full((10, 100), 50, np.uint8)  # wider than 2:1 fills the width in both modes
    assert np.array_equal(resize_for_model(wide, cfg_pad), resize_for_model(wide, cfg_stretch))


def test_preprocess_scales_to_unit_range():
    x = preprocess(np.full((5, 5, 3), 255, np.uint8), RecognizerConfig())
    assert x.shape == (1, 64, 128) and x.dtype == np.float32 and np.allclose(x, 1.0)


def _random_model(seed=0, backbone="vgg"):
    torch.manual_seed(seed)
    cfg = RecognizerConfig(width_mult=0.125, hidden=16, backbone=backbone)
    model = CRNN(cfg, CHARSET.num_classes)
    for m in model.modules():  # non-trivial batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval(), cfg


@pytest.mark.parametrize("backbone", ["vgg", "resnet"])
def test_fused_batchnorm_gives_the_same_logits(backbone):
    model, _ = _random_model(backbone=backbone)
    x = torch.randn(2, 1, 64, 128)
    with torch.no_grad():
        before = model(x)
        after = fuse_batchnorm(model)(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert torch.allclose(before, after, atol=1e-4)


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    model, cfg = _random_model()
    path = tmp_path / "m.pt"
    torch.save(make_checkpoint(model, CHARSET, {"note": "test"}), path)
    ckpt = read_checkpoint(path)
    assert ckpt["charset"] == CHARSET.chars and ckpt["config"] == cfg.to_dict() and ckpt["summary"]["note"] == "test"
    crops = [np.random.default_rng(i).integers(0, 256, (40, 90, 3), dtype=np.uint8) for i in range(3)]
    x = torch.from_numpy(np.stack([preprocess(c, cfg) for c in crops]))
    with torch.no_grad():
        expected = model(x).softmax(2).permute(1, 0, 2).numpy()
    rec = Recognizer.load(path, device="cpu")
    assert np.allclose(rec.probabilities(crops), expected, atol=1e-4)
    # batch size and the single-thread path for small batches do not change results
    assert np.allclose(Recognizer.load(path, RecognizerSettings(batch_size=1), device="cpu").probabilities(crops), expected, atol=1e-4)


def test_missing_and_foreign_weight_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.*not found.*shipped"):
        resolve_weights(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="junk.pt: not a readable checkpoint"):
        read_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"kind": "detector"}, other)
    with pytest.raises(ValueError, match="other.pt: not a recognizer checkpoint"):
        read_checkpoint(other)


def test_checkpoint_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"kind": "recognizer", "x": Evil()}, path)
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        read_checkpoint(path)


def test_recognizer_rejects_bad_settings(tmp_path):
    model, cfg = _random_model()
    torch.save(make_checkpoint(model, CHARSET), tmp_path / "m.pt")
    with pytest.raises(ValueError, match="decoder"):
        RecognizerSettings(decoder="viterbi")
    rec = Recognizer.load(tmp_path / "m.pt", device="cpu")
    assert rec.probabilities([]).shape == (0, 32, CHARSET.num_classes)
    with pytest.raises(ValueError, match="shape"):
        rec([np.zeros((4, 4, 4), np.uint8)])


def test_the_latin_charset_reads_accents_and_signs_once_each():
    from recognizer.charset import LATIN

    charset = Charset(LATIN)  # refuses repeated characters
    assert all(charset.encode(w) for w in "Café €12,50 naïve Straße 20°C Łódź".split()) and " " not in LATIN
    assert set("abcXYZ019!?@#$%&*()[]{}<>/\\|~^_=+-'\"") <= set(LATIN)
