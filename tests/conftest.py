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
