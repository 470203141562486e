import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: keeps 2 threads fast beside other work

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))  # tools are scripts, not installed: tests import them from here


@pytest.fixture(scope="session")
def captcha_dir(tmp_path_factory):
    """Six short seeded captchas, labelled by file name."""
    import make_captchas

    out = tmp_path_factory.mktemp("captchas")
    make_captchas.main(["--out", str(out), "-n", "6", "--seed", "5", "--min-len", "3", "--max-len", "4"])
    return out


def write_png(path, array):
    from PIL import Image

    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory):
    """(detector, recognizer) checkpoint paths: a detector that calls everything text (one box over the image)
    and a random tiny recognizer of 'abc'."""
    import torch

    from detector.checkpoint import make_checkpoint as detector_checkpoint
    from detector.config import DetectorConfig
    from detector.model import DBNet
    from recognizer.charset import Charset
    from recognizer.checkpoint import make_checkpoint
    from recognizer.config import RecognizerConfig
    from recognizer.model import CRNN

    folder = tmp_path_factory.mktemp("tiny-models")
    torch.manual_seed(0)
    det = DBNet(DetectorConfig(width_mult=0.125, neck=16)).eval()
    with torch.no_grad():
        det.prob_head[-1].bias.fill_(20.0)
    torch.save(detector_checkpoint(det), folder / "det.pt")
    torch.save(make_checkpoint(CRNN(RecognizerConfig(width_mult=0.125, hidden=16), 4).eval(), Charset("abc")),
               folder / "rec.pt")
    return folder / "det.pt", folder / "rec.pt"
