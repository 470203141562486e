"""The Detector: load a checkpoint once, find words in batches of RGB images."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .model import DBNet, DetectorConfig, fuse_batchnorm
from .postprocess import boxes_from_prob
from .transforms import normalize, resize_for_inference

FORMAT = 1
KIND = "detector"
WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class Detections:
    quads: np.ndarray  # (N, 4, 2) float32, original image pixels, clockwise from each word's top-left
    scores: np.ndarray  # (N,) float32: mean text probability inside each region


def make_checkpoint(model: DBNet, summary: dict | None = None) -> dict:
    state = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}
    return {"format": FORMAT, "kind": KIND, "config": model.cfg.to_dict(), "summary": dict(summary or {}),
            "state_dict": state}


def resolve_weights(name_or_path: str | Path) -> Path:
    """A path to an existing file, or the name of a shipped detector model."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = WEIGHTS_DIR / f"{name_or_path}.pt"
    if shipped.is_file():
        return shipped
    names = sorted(p.stem for p in WEIGHTS_DIR.glob("*.pt"))
    raise FileNotFoundError(f"detector weights {str(name_or_path)!r} not found: not a file, nor a shipped model "
                            f"(shipped: {', '.join(names) or 'none'})")


def load_model(path: str | Path) -> tuple[DBNet, dict]:
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such weight file") from None
    except Exception as e:  # a damaged or foreign file
        raise ValueError(f"{path}: not a readable checkpoint ({e.__class__.__name__}: {e})") from None
    if isinstance(ckpt, dict) and "optimizer" in ckpt and isinstance(ckpt.get("model"), dict):
        raise ValueError(f"{path}: a training state for --resume, not a model: use best.pt from the same run folder")
    if not isinstance(ckpt, dict) or ckpt.get("kind") != KIND or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: not a detector checkpoint (format {FORMAT})")
    try:
        model = DBNet(DetectorConfig.from_dict(ckpt["config"]))
        model.load_state_dict(ckpt["state_dict"])
    except (KeyError, RuntimeError, TypeError) as e:
        raise ValueError(f"{path}: checkpoint does not fit its own description ({e.__class__.__name__}: {e})") from None
    return model, ckpt.get("summary", {})


# Tuned for the shipped `db` on the held-out ICDAR 2015 images (tools/eval_detector.py with several values
# per threshold): a higher binarization threshold than DBNet's 0.3 splits neighbouring words.
BIN_THRESH, BOX_THRESH, UNCLIP_RATIO = 0.5, 0.7, 1.5


class Detector:
    """Finds words in RGB uint8 images of any size; see ``detector.postprocess`` for the thresholds."""

    def __init__(self, weights: str | Path | DBNet, max_side: int = 1280, bin_thresh: float = BIN_THRESH,
                 box_thresh: float = BOX_THRESH, unclip_ratio: float = UNCLIP_RATIO, device: str = "cpu",
                 batch_size: int = 4):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        if isinstance(weights, DBNet):  # a model in training: used as it is, never modified
            self.model, self.summary = weights, {}
        else:
            model, self.summary = load_model(resolve_weights(weights))
            self.model = fuse_batchnorm(model.eval())
        self.max_side, self.bin_thresh, self.box_thresh, self.unclip_ratio = max_side, bin_thresh, box_thresh, unclip_ratio
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.model.to(self.device)
        if self.device.type == "cpu" and not isinstance(weights, DBNet):
            self.model.to(memory_format=torch.channels_last)

    def probability(self, image: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        """The text probability map of one image at its inference size, and the factors back to the input."""
        return self.probabilities([image])[0]

    @torch.inference_mode()
    def probabilities(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, tuple[float, float]]]:
        """``probability`` for several images in one forward pass: each is resized as alone, zero-padded
        (the mean colour, once normalized) at the bottom and right to the largest, and its map cut back."""
        if not images:
            return []
        was_training = self.model.training
        self.model.eval().to(self.device)
        resized = [resize_for_inference(image, self.max_side) for image in images]
        height, width = max(r.shape[0] for r, _ in resized), max(r.shape[1] for r, _ in resized)
        batch = np.zeros((len(images), 3, height, width), np.float32)
        for i, (r, _) in enumerate(resized):
            batch[i, :, : r.shape[0], : r.shape[1]] = normalize(r, self.model.cfg.mean, self.model.cfg.std)
        x = torch.from_numpy(batch).to(self.device)
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", enabled=self.device.type == "cuda"):
            prob = torch.sigmoid(self.model(x)["prob_logits"].float())[:, 0].cpu().numpy()
        self.model.train(was_training)
        return [(prob[i, : r.shape[0], : r.shape[1]], scale) for i, (r, scale) in enumerate(resized)]

    def __call__(self, images: list[np.ndarray]) -> list[Detections]:
        """Words in each image; ``batch_size`` images share a forward pass (same-size photos batch best)."""
        out = []
        for first in range(0, len(images), self.batch_size):
            for prob, scale in self.probabilities(images[first : first + self.batch_size]):
                # Not clipped to the image: clipping corners one by one would skew a box that sticks out,
                # and the crop replicates the border anyway. Writers clip what they output.
                quads, scores = boxes_from_prob(prob, scale, bin_thresh=self.bin_thresh, box_thresh=self.box_thresh,
                                                unclip_ratio=self.unclip_ratio)
                out.append(Detections(np.asarray(quads, np.float32).reshape(-1, 4, 2),
                                      np.asarray(scores, np.float32)))
        return out
