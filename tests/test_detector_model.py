"""The DBNet network, its loss, checkpoints and the Detector wrapper."""
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from detector.dataset import DetectionDataset, collate
from detector.data import ImageAnnotation
from detector.finder import PAGE_MARGIN, Finder, word_heights
from detector.losses import balanced_bce, db_loss, dice_loss
from detector.checkpoint import load_model, make_checkpoint, resolve_weights
from detector.config import SIZES, DetectorConfig, DetectorSettings
from detector.model import DBNet
from engine.layers import count_parameters
from detector.predict import Detector
from detector.training import TrainConfig, lr_at
from engine.training import StepBatches
from detector.transforms import normalize, resize_for_inference
from conftest import write_png

TINY = DetectorConfig(width_mult=0.125, neck=16)


@pytest.mark.parametrize("h,w", [(64, 96), (96, 32), (160, 320)])
def test_maps_match_non_square_inputs(h, w):
    model = DBNet(TINY)
    out = model.train()(torch.zeros(2, 3, h, w))
    assert {k: tuple(v.shape) for k, v in out.items()} == {k: (2, 1, h, w) for k in ("prob_logits", "thresh", "binary")}
    assert set(model.eval()(torch.zeros(1, 3, h, w))) == {"prob_logits"}  # inference skips the threshold branch


def test_half_size_parameters():
    assert 2.7e6 <= count_parameters(DBNet(DetectorConfig(**SIZES["half"]))) <= 3.1e6


def test_binary_map_is_the_steep_sigmoid_of_prob_minus_threshold():
    model = DBNet(TINY).train()
    out = model(torch.randn(2, 3, 64, 64))
    expected = torch.sigmoid(50 * (torch.sigmoid(out["prob_logits"]) - out["thresh"]))
    assert torch.allclose(out["binary"], expected)


def test_balanced_bce_keeps_three_negatives_per_positive():
    gt = torch.zeros(1, 20, 20)
    gt[0, :2, :10] = 1  # 20 positives
    mask = torch.ones_like(gt)
    logits = torch.zeros_like(gt)  # every pixel costs log 2
    # 20 positives + min(380, max(60, 100)) = 100 hardest negatives, all costing log 2
    assert balanced_bce(logits, gt, mask).item() == pytest.approx(np.log(2))
    logits[0, 10:, :] = 5.0  # 200 confident false positives are the hardest negatives
    loss = balanced_bce(logits, gt, mask).item()
    hard = torch.nn.functional.softplus(torch.tensor(5.0)).item()
    assert loss == pytest.approx((20 * np.log(2) + 100 * hard) / 120, rel=1e-5)


def test_dice_and_masked_l1():
    gt = torch.zeros(1, 4, 4)
    gt[0, :2] = 1
    assert dice_loss(gt.clone(), gt, torch.ones_like(gt)).item() == pytest.approx(0.0, abs=1e-6)
    out = {"prob_logits": torch.zeros(1, 1, 4, 4), "binary": gt[:, None].clone(), "thresh": torch.full((1, 1, 4, 4), 0.5)}
    targets = torch.stack([gt, torch.ones_like(gt), torch.full_like(gt, 0.3), torch.zeros_like(gt)], dim=1)
    targets[:, 3, 0, 0] = 1  # one threshold pixel counts: |0.5 - 0.3| = 0.2
    total, parts = db_loss(out, targets)
    assert parts["loss_thresh"] == pytest.approx(0.2, rel=1e-5)
    assert parts["loss_binary"] == pytest.approx(0.0, abs=1e-6)


def test_resize_for_inference_keeps_multiples_of_32_and_returns_scale():
    img = np.zeros((720, 1280, 3), np.uint8)
    resized, scale = resize_for_inference(img, 960)
    assert resized.shape == (544, 960, 3)
    assert scale == pytest.approx((1280 / 960, 720 / 544))
    small, s2 = resize_for_inference(np.zeros((50, 70, 3), np.uint8), 1280)
    assert small.shape == (64, 64, 3) and s2 == pytest.approx((70 / 64, 50 / 64))


def test_schedule_and_batches():
    cfg = TrainConfig(steps=100, lr=1.0, warmup_steps=10, batch_size=4)
    assert lr_at(0, cfg) == pytest.approx(0.1) and lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(50, cfg) == pytest.approx(0.5 ** 0.9)
    batches = StepBatches(3, 4, seed=0, start=0, stop=1)
    assert len(batches.batch(0)) == 4  # fewer images than a batch: images repeat, crops differ
    assert len({seed for _, seed in batches.batch(0)}) == 4


def test_checkpoint_round_trip_and_errors(tmp_path):
    model = DBNet(TINY).eval()
    torch.save(make_checkpoint(model, {"note": 1}), tmp_path / "d.pt")
    loaded, summary = load_model(tmp_path / "d.pt")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x)["prob_logits"], loaded.eval()(x)["prob_logits"])
    assert summary == {"note": 1}
    with pytest.raises(FileNotFoundError, match="not found"):
        resolve_weights(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="bad.pt"):
        load_model(tmp_path / "bad.pt")


def test_detector_returns_quads_in_original_pixels():
    model = DBNet(TINY).eval()
    with torch.no_grad():  # make the network say "text" everywhere: one box covering the whole image
        model.prob_head[-1].bias.fill_(20.0)
    dets = Detector(model, DetectorSettings(max_side=64), device="cpu")([np.zeros((100, 200, 3), np.uint8)])[0]
    assert dets.quads.shape == (1, 4, 2) and dets.scores[0] > 0.99
    xs, ys = dets.quads[0, :, 0], dets.quads[0, :, 1]
    assert xs.min() <= 1 and xs.max() >= 198 and ys.min() <= 1 and ys.max() >= 98  # clipped to the input's size


def test_dataset_makes_crops_with_targets_and_skips_unreadable(tmp_path, capsys):
    write_png(tmp_path / "a.png", np.full((120, 200, 3), 200))
    (tmp_path / "b.png").write_bytes(b"not an image")
    quad = np.float32([[40, 40], [160, 40], [160, 80], [40, 80]])
    anns = [ImageAnnotation(tmp_path / "a.png", [quad], ["WORD"], [False]),
            ImageAnnotation(tmp_path / "b.png", [quad], ["WORD"], [False])]
    ds = DetectionDataset(anns, 64, TINY.mean, TINY.std)
    images, targets = collate([ds[(0, 1)], ds[(1, 2)]])
    assert "b.png" in capsys.readouterr().err
    assert images.shape == (1, 3, 64, 64) and targets.shape == (1, 4, 64, 64)
    t = targets[0].numpy()
    assert ((t[2] >= 0.3 - 1e-6) & (t[2] <= 0.7 + 1e-6)).all() and set(np.unique(t[1])) <= {0.0, 1.0}


def test_crops_scaled_by_word_height_land_in_the_asked_range():
    from detector.transforms import random_crop_sample, word_height

    image = np.full((400, 600, 3), 200, np.uint8)
    small = [np.float32([[x, 100], [x + 50, 100], [x + 50, 110], [x, 110]]) for x in (50, 150, 250)]  # 10 px tall
    big = [np.float32([[50, 100], [350, 100], [350, 160], [50, 160]])]  # 60 px tall
    assert word_height(small[0]) == 10 and abs(word_height(np.float32([[0, 0], [40, 30], [10, 70], [-30, 40]])) - 50) < 1e-3
    for polys in (small, big):
        for seed in range(20):
            _, out, ignore = random_crop_sample(image, polys, [False] * len(polys), np.random.default_rng(seed), 256,
                                                max_angle=0, word_heights=(16, 32))
            heights = [word_height(p) for p, ig in zip(out, ignore) if not ig]
            assert all(16 - 0.01 <= h <= 32 + 0.01 for h in heights)
    # without word_heights, the scale is 0.5 to 1.6 of the image's own: the 10-pixel words stay 5 to 16 tall
    _, out, _ = random_crop_sample(image, small, [False] * 3, np.random.default_rng(0), 256, max_angle=0)
    assert all(5 - 0.01 <= word_height(p) <= 16 + 0.01 for p in out)


def test_fused_batchnorm_keeps_the_maps():
    from engine.inference import fuse_batchnorm

    torch.manual_seed(0)
    model = DBNet(TINY)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    model.eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        before = model(x)["prob_logits"]
        after = fuse_batchnorm(model)(x)["prob_logits"]
    assert torch.allclose(before, after, atol=1e-4)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 2  # only after the transposed convs


def test_detector_resume_continues_exactly(tmp_path):
    from detector.training import train

    rng = np.random.default_rng(0)
    anns = []
    for i in range(2):
        write_png(tmp_path / f"{i}.png", rng.integers(0, 256, (96, 128, 3)))
        anns.append(ImageAnnotation(tmp_path / f"{i}.png", [np.float32([[20, 30], [90, 30], [90, 50], [20, 50]])],
                                    ["WORD"], [False]))
    cfg = TrainConfig(steps=4, batch_size=2, crop_size=64, warmup_steps=1, val_every=100, log_every=1)
    train(tmp_path / "straight", anns, [], TINY, cfg, workers=0, progress=False)
    first = train(tmp_path / "split", anns, [], TINY, cfg, workers=0, progress=False, max_minutes=0)
    assert first["steps"] == 1 and not first["finished"]
    with open(tmp_path / "split" / "metrics.jsonl", "a") as log:  # logged after the last checkpoint, then lost
        log.write('{"step": 2, "stale": true}\n')
    second = train(tmp_path / "split", anns, [], TINY, cfg, workers=0, progress=False, resume=True)
    assert second["finished"] and second["samples_seen"] == 8
    a = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)["model"]["state_dict"]
    b = torch.load(tmp_path / "split" / "last.pt", weights_only=True)["model"]["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    logs = [[json.loads(line) for line in open(tmp_path / run / "metrics.jsonl")] for run in ("straight", "split")]
    assert [r["step"] for r in logs[1]] == [r["step"] for r in logs[0]] == [1, 2, 3, 4]
    assert not any("stale" in r for r in logs[1])


def test_batched_maps_equal_single_maps_for_same_size_images():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (70, 100, 3), dtype=np.uint8) for _ in range(3)]
    detector = Detector(DBNet(TINY).eval(), DetectorSettings(max_side=96), device="cpu")
    batched = detector.probabilities(images)
    for image, (prob, scale) in zip(images, batched):
        single, single_scale = detector.probability(image)
        assert prob.shape == single.shape == (64, 96) and scale == single_scale
        np.testing.assert_allclose(prob, single, atol=1e-5)


def test_mixed_sizes_in_one_batch_map_back_to_their_own_pixels():
    model = DBNet(TINY).eval()
    with torch.no_grad():  # "text" everywhere: each image gives one box over itself, not over the padded batch
        model.prob_head[-1].bias.fill_(20.0)
    sizes = [(100, 200), (60, 60), (130, 90)]
    detector = Detector(model, DetectorSettings(max_side=128, batch_size=2), device="cpu")
    maps = detector.probabilities([np.zeros((h, w, 3), np.uint8) for h, w in sizes])
    assert [m.shape for m, _ in maps] == [(64, 128), (64, 64), (128, 96)]
    dets = detector([np.zeros((h, w, 3), np.uint8) for h, w in sizes])
    for (h, w), d in zip(sizes, dets):
        assert d.quads.shape == (1, 4, 2)
        centre = d.quads[0].mean(axis=0)  # unclipped boxes grow past the image, evenly on every side
        assert abs(centre[0] - w / 2) < 3 and abs(centre[1] - h / 2) < 3
    with pytest.raises(ValueError, match="batch_size"):
        DetectorSettings(batch_size=0)


def test_batched_detections_equal_one_by_one_for_mixed_sizes():
    """Photos of different sizes never share a padded pass, so a photo's boxes do not depend on its neighbours."""
    torch.manual_seed(3)
    model = DBNet(TINY).eval()
    with torch.no_grad():
        model.prob_head[-1].bias.fill_(0.5)  # a random map with some regions above the thresholds
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, size, dtype=np.uint8) for size in [(100, 200, 3), (64, 64, 3), (100, 200, 3),
                                                                      (130, 90, 3), (100, 200, 3)]]
    settings = DetectorSettings(max_side=128, batch_size=3, bin_thresh=0.5, box_thresh=0.5)
    batched = Detector(model, settings, device="cpu")(images)
    single = Detector(model, replace(settings, batch_size=1), device="cpu")
    assert sum(len(d.quads) for d in batched) > 0
    for image, d in zip(images, batched):
        alone = single([image])[0]
        np.testing.assert_allclose(d.quads, alone.quads, atol=1e-3)
        np.testing.assert_allclose(d.scores, alone.scores, atol=1e-5)


def test_predictor_never_touches_a_model_in_training():
    model = DBNet(TINY).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    Detector(model, DetectorSettings(max_side=64), device="cpu")([np.zeros((64, 64, 3), np.uint8)])
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # not folded


class FakeFinder(Finder):
    """A Finder whose network is ``self.network(batch)`` on normalized (B, 3, H, W) input (mean 0, std 1: the
    image / 255); it records each batch's shape."""

    def __init__(self, settings, network):
        self.settings, self.mean, self.std, self.inputs, self.network = settings, (0, 0, 0), (1, 1, 1), [], network

    def _forward(self, batch):
        self.inputs.append(batch.shape)
        return self.network(batch)


def dots(batch):
    """A 5 x 12 px word every 20 px across and down of a 160 x 96 input (40 small words), scaled with the input."""
    _, _, h, w = batch.shape
    f = w / 160
    prob = np.zeros((batch.shape[0], h, w), np.float32)
    for y in range(5, 96, 20):
        for x in range(4, 160, 20):
            prob[:, int(y * f) : int((y + 5) * f), int(x * f) : int((x + 12) * f)] = 0.9
    return prob


def test_pages_of_small_print_are_read_again_enlarged():
    """A first pass that finds many small words sends the image through again, enlarged, with the page unclip."""
    image = np.zeros((96, 160, 3), np.uint8)
    pages = DetectorSettings(page_words=30, small_text=15, page_enlarge=2.0, page_unclip_ratio=2.0)
    finder = FakeFinder(pages, dots)
    found = finder([image])[0]
    assert finder.inputs == [(1, 3, 96, 160), (1, 3, 192, 320)]  # read again at twice the size
    assert len(found.quads) == 40 and found.quads[:, :, 0].max() <= 170  # boxes back in the input's pixels
    for off in (replace(pages, page_enlarge=0), replace(pages, page_words=41), replace(pages, small_text=3)):
        finder = FakeFinder(off, dots)
        finder([image])
        assert finder.inputs == [(1, 3, 96, 160)]  # one pass: not a page, or pages off


def test_words_are_judged_small_at_the_scale_the_first_pass_saw_them():
    """A large page shrunk for the first pass shows its words smaller than they are: words 21 px high on the page
    (unclipped boxes) are 10 px at the first pass's half scale, under small_text, so the page is read again; the
    same page not shrunk shows them 21 px high, and is not."""
    image = np.zeros((192, 320, 3), np.uint8)
    settings = DetectorSettings(max_side=160, page_words=30, small_text=12, page_enlarge=2.0)
    finder = FakeFinder(settings, dots)
    found = finder([image])[0]
    assert finder.inputs == [(1, 3, 96, 160), (1, 3, 384, 640)]  # read again at twice the page's own size
    assert len(found.quads) == 40 and 300 < found.quads[:, :, 0].max() < 330  # in the page's pixels
    finder = FakeFinder(replace(settings, max_side=320), dots)
    finder([image])
    assert finder.inputs == [(1, 3, 192, 320)]


def test_the_enlarged_pass_reads_only_the_print_and_its_margin():
    """Words in one corner of a page: the second pass reads their window, and its boxes land on the words."""
    image = np.zeros((400, 600, 3), np.uint8)
    words = [(x, y) for y in range(300, 360, 12) for x in range(400, 580, 30)]  # 5 rows of 6 words, 20 x 6 px
    for x, y in words:
        image[y : y + 6, x : x + 20] = 255
    settings = DetectorSettings(max_side=600, page_words=30, small_text=15, page_enlarge=2.0, unclip_ratio=1.0,
                                page_unclip_ratio=1.0, box_thresh=0.5)
    finder = FakeFinder(settings, lambda batch: batch[:, 0])  # white rectangles are words
    found = finder([image])[0]
    first = finder.boxes(*finder.probabilities([image])[0])
    window = finder.page_window(first, image)
    height = float(np.median(word_heights(first)))
    margin = PAGE_MARGIN * height  # around the words' boxes, a few pixels beyond their ink
    np.testing.assert_allclose(window, (400 - margin, 300 - margin, 600, 354 + margin), atol=4)
    assert window[2] == 600  # clipped to the page
    w, h = window[2] - window[0], window[3] - window[1]
    assert finder.inputs[1] == (1, 3, round(2 * h / 32) * 32, round(2 * w / 32) * 32)  # the window, enlarged
    assert len(found.quads) == 30
    centres = sorted(map(tuple, np.round(found.quads.mean(axis=1) - [10, 3]).astype(int) // 2 * 2))
    assert np.abs(np.array(centres) - np.array(sorted(words))).max() <= 2  # back in the page's pixels


def test_a_shrunk_page_whose_print_vanished_is_read_again_enlarged():
    """Print too small to survive the first pass's shrinking: no words, but the image is mostly paper."""
    from detector.transforms import paper_share

    def blank(batch):
        return np.zeros((batch.shape[0], *batch.shape[2:]), np.float32)

    paper = np.full((160, 256, 3), 235, np.uint8)
    paper[::7, 10:300] = 30  # 23 rows of tiny print, 246 px long
    photo = np.random.default_rng(0).integers(0, 256, (160, 256, 3)).astype(np.uint8)
    assert paper_share(paper) == pytest.approx(1 - 23 * 246 / (160 * 256)) and paper_share(photo) < 0.3
    settings = DetectorSettings(max_side=128, page_words=30, page_enlarge=2.0)
    for image, passes in ((paper, 2), (photo, 1)):
        finder = FakeFinder(settings, blank)
        finder([image])
        assert len(finder.inputs) == passes
    finder = FakeFinder(replace(settings, max_side=256), blank)  # not shrunk: what it found is all there is
    finder([paper])
    assert len(finder.inputs) == 1


def test_normalize_gives_channels_first_contiguous_standard_scores():
    image = np.array([[[0, 255, 51]], [[255, 0, 102]]], np.uint8)  # (2, 1, 3)
    x = normalize(image, (0.5, 0.5, 0.2), (0.5, 0.25, 0.2))
    assert x.shape == (3, 2, 1) and x.dtype == np.float32 and x.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(x[:, :, 0], [[-1, 1], [2, -2], [0, 1]], atol=1e-6)
