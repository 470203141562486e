"""Average recognizer checkpoints of one lineage into one (a "model soup"), batch-norm statistics included.

    python tools/average_weights.py words runs/words5/best.pt --out runs/soup.pt
    python tools/average_weights.py words runs/words5/best.pt --weights 0.7 0.3 --out runs/soup.pt

Checkpoints fine-tuned from the same weights lie in one basin of the loss, and their average often reads better
than any of them (Wortsman et al., 2022). They must share the network's config and charset. Each takes a shipped
model name or a .pt file; the result carries every part's own summary under ``summary["parts"]``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages

from engine.checkpoint import save_atomic
from recognizer.checkpoint import read_checkpoint, resolve_weights


def average(checkpoints: list[dict], weights: list[float], names: list[str]) -> dict:
    """One checkpoint whose every floating-point tensor is the weighted mean of the parts' (integer ones, such as
    batch norm's step counts, are the first part's)."""
    first = checkpoints[0]
    for ckpt, name in zip(checkpoints[1:], names[1:]):
        if ckpt["config"] != first["config"] or ckpt.get("charset") != first.get("charset"):
            raise ValueError(f"{name}: its network or charset differs from {names[0]}'s: only checkpoints of one "
                             "lineage can be averaged")
    state = {}
    for key, tensor in first["state_dict"].items():
        if tensor.is_floating_point():
            state[key] = sum(w * c["state_dict"][key].float() for w, c in zip(weights, checkpoints)).to(tensor.dtype)
        else:
            state[key] = tensor.clone()
    summary = {"averaged": f"the weights, batch-norm statistics included, of {len(checkpoints)} checkpoints, "
                           f"weighed {' / '.join(f'{w:g}' for w in weights)} (a model soup)",
               "parts": [{"name": name, **ckpt.get("summary", {})} for name, ckpt in zip(names, checkpoints)]}
    return {**first, "summary": summary, "state_dict": state}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", nargs="+", help="shipped model names or .pt files, two or more")
    p.add_argument("--out", required=True, help="the .pt file to write")
    p.add_argument("--weights", type=float, nargs="+", help="one per checkpoint, summing to 1 (default: equal)")
    p.add_argument("--names", nargs="+", help="how the summary names each part (default: as given)")
    a = p.parse_args(argv)
    n = len(a.checkpoints)
    if n < 2:
        p.error("give two or more checkpoints")
    weights = a.weights or [1 / n] * n
    if len(weights) != n or any(w < 0 for w in weights) or abs(sum(weights) - 1) > 1e-6:
        p.error(f"--weights: {n} numbers >= 0 that sum to 1")
    names = a.names or a.checkpoints
    if len(names) != n:
        p.error(f"--names: {n} names")
    try:
        checkpoints = [read_checkpoint(resolve_weights(c)) for c in a.checkpoints]
        save_atomic(average(checkpoints, weights, names), a.out)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {a.out}: {' + '.join(f'{w:g} x {c}' for w, c in zip(weights, a.checkpoints))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
