"""ONNX: export a network (needs torch) and run one with onnxruntime (imports no torch).

A model's description (config, charset, ...) travels inside the .onnx file as JSON metadata, so the file alone
rebuilds its predictor, as a .pt checkpoint does.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

META_KEY = "crnn_ocr"


def export(model, example, path: str | Path, dynamic_axes: dict, description: dict) -> Path:
    """Write ``model`` (in eval mode; batch norm may be folded) as ONNX with ``description`` as metadata.

    The legacy exporter (opset 17) with dynamic batch and width: the dynamo exporter of torch 2.13 bakes the
    LSTM's sequence length into a Reshape, so other widths would come out silently wrong.
    """
    import copy
    import warnings

    import onnx
    import torch

    # A private copy in the default memory layout: the exporter writes transposed convolutions of a
    # channels_last model wrong (their maps were off by up to 0.4 here).
    model = copy.deepcopy(model).cpu().float().eval().to(memory_format=torch.contiguous_format)
    path = Path(path)
    (name_in, name_out) = list(dynamic_axes)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and LSTM batch notes (batch works: tested)
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=17, input_names=[name_in],
                          output_names=[name_out], dynamic_axes=dynamic_axes)
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(description)
    onnx.save(proto, str(path))
    return path


class OnnxNetwork:
    """An onnxruntime session on the CPU: ``network(x)`` -> its first output, as numpy."""

    def __init__(self, path: str | Path, threads: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise ValueError("the onnx backend needs onnxruntime: pip install 'crnn-ocr[onnx]'") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # Threads that spin waiting for work steal the cores from other runtimes and from the data loaders.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own kinds for a damaged or foreign file
            raise ValueError(f"{path}: not a readable ONNX model ({e.__class__.__name__}: {e})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if META_KEY not in meta:
            raise ValueError(f"{path}: an ONNX model without this engine's description (export it with ocr-export)")
        self.description = json.loads(meta[META_KEY])
        self.input = self.session.get_inputs()[0].name
        self.path = Path(path)

    def described_as(self, kind: str) -> dict:
        """The model's description, checked to be of ``kind``; ValueError naming the file otherwise."""
        if self.description.get("kind") != kind:
            raise ValueError(f"{self.path}: not a {kind} export")
        return self.description

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: np.ascontiguousarray(x, dtype=np.float32)})[0]


def find_export(name_or_path: str | Path, weights_dir: Path, kind: str) -> Path:
    """The .onnx file for a model: the path itself, the export beside a .pt file, or a shipped model's export."""
    path = Path(name_or_path)
    candidates = [path] if path.suffix == ".onnx" else [path.with_suffix(".onnx"), weights_dir / f"{name_or_path}.onnx"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no ONNX export of {kind} {str(name_or_path)!r}: make one with ocr-export "
                            f"{name_or_path}, or use the torch backend")


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
