"""The base package: the step sampler both stages train with, checkpoints, and run fingerprints."""

import numpy as np
import pytest
import torch

from engine.checkpoint import make_checkpoint, read_checkpoint, resolve_weights, save_atomic
from engine.images import load_image
from engine.training import StepBatches, fingerprint



def test_batches_depend_only_on_the_step():
    full = StepBatches(n=10, batch_size=4, seed=3, start=0, stop=9)
    resumed = StepBatches(n=10, batch_size=4, seed=3, start=5, stop=9)
    assert list(full)[5:] == list(resumed)
    epoch0 = [i for s in range(2) for i, _ in full.batch(s)]
    assert len(set(epoch0)) == 8  # no repeats inside an epoch
    assert all(seed == -1 for _, seed in StepBatches(10, 4, 3, 0, 1, augment=False).batch(0))
    with pytest.raises(ValueError, match="at least one item"):
        StepBatches(0, 4, 0, 0, 1)


def test_sampler_draws_what_the_committed_detector_run_drew():
    """The values the detector's own sampler gave before both stages shared one (n = 4,800 images, batch 8,
    seed 0): a run resumed across that change goes on with the same batches."""
    batches = StepBatches(4800, 8, seed=0, start=0, stop=15000)
    assert [i for i, _ in batches.batch(0)] == [3158, 3091, 523, 2316, 2815, 2129, 3519, 184]
    assert [i for i, _ in batches.batch(599)] == [2399, 4735, 4411, 1974, 4125, 2232, 3023, 607]
    assert [i for i, _ in batches.batch(600)] == [525, 646, 2022, 4527, 1205, 171, 3136, 1832]
    assert batches.batch(14999)[0] == (1036, 61435904)
    assert StepBatches(3, 4, seed=2, start=0, stop=9).batch(5) == [
        (2, 8192045056), (0, 8192045057), (1, 8192045058), (2, 8192045059)]


def test_fingerprint_counts_and_hashes_the_training_items():
    assert fingerprint(["a", "b"]) == {"count": 2, "sha1": "fcd127ffa1016069006ad91f3f361248f9bdf272"}


def test_checkpoint_round_trip_kind_and_refusals(tmp_path):
    model = torch.nn.Linear(2, 3)
    save_atomic(make_checkpoint("thing", model, {"size": 2}, {"note": 1}, extra="x"), tmp_path / "m.pt")
    ckpt = read_checkpoint(tmp_path / "m.pt", "thing")
    assert (ckpt["config"], ckpt["summary"], ckpt["extra"]) == ({"size": 2}, {"note": 1}, "x")
    assert torch.equal(ckpt["state_dict"]["weight"], model.weight.detach())
    assert not (tmp_path / "m.tmp").exists()
    with pytest.raises(ValueError, match="not a other checkpoint \\(a thing checkpoint\\)"):
        read_checkpoint(tmp_path / "m.pt", "other")
    with pytest.raises(FileNotFoundError, match="thing weights 'nothing' not found.*shipped: m\\)"):
        resolve_weights("nothing", tmp_path, "thing")
    assert resolve_weights("m", tmp_path, "thing") == tmp_path / "m.pt"
    torch.save({"model": ckpt, "optimizer": {}}, tmp_path / "last.pt")
    with pytest.raises(ValueError, match="use best.pt"):
        read_checkpoint(tmp_path / "last.pt", "thing")


def test_image_reader_handles_cmyk_grey_and_names_bad_files(tmp_path):
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "g.png")
    assert load_image(tmp_path / "c.jpg").shape == (6, 8, 3)
    grey = load_image(tmp_path / "g.png")
    assert grey.shape == (6, 8, 3) and np.array_equal(grey[..., 0], rgb[..., 0]) and np.array_equal(grey[..., 1], rgb[..., 0])
    (tmp_path / "x.png").write_bytes(b"nope")
    with pytest.raises(ValueError, match="x.png: cannot read image"):
        load_image(tmp_path / "x.png")
