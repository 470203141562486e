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


def quantize_int8(src: str | Path, dst: str | Path, samples: list[np.ndarray], keep_float: tuple[str, ...] = ()
                  ) -> Path:
    """Write ``src`` with its convolutions in int8 (QDQ: weights per output channel, activations by their range on
    ``samples``, real inputs of the network), its description kept. The first convolution, which sees the raw
    pixels, and those whose name holds a ``keep_float`` string stay float: on the shipped detector, quantizing its
    probability head cost 0.1 of ICDAR 2015 detection H-mean, quantizing the rest 0.002."""
    import tempfile

    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    convs = [n.name for n in onnx.load(str(src)).graph.node if n.op_type == "Conv"]
    chosen = [n for n in convs[1:] if not any(k in n for k in keep_float)]

    class Samples(CalibrationDataReader):
        def __init__(self, name: str):
            self.feed = iter([{name: np.ascontiguousarray(x, dtype=np.float32)} for x in samples])

        def get_next(self):
            return next(self.feed, None)

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"  # shapes inferred and the graph folded, as the quantizer expects
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        name = onnx.load(str(prepared)).graph.input[0].name
        quantize_static(str(prepared), str(dst), Samples(name), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv"], nodes_to_quantize=chosen)
    return Path(dst)


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
