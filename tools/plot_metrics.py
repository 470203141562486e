"""Plot a training run's metrics.jsonl (loss, validation accuracy, learning rate) to a PNG.

    python tools/plot_metrics.py runs/captcha/metrics.jsonl --out runs/captcha/metrics.png

Needs matplotlib (pip install matplotlib); the x axis is samples seen.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def read_metrics(path: Path) -> list[dict]:
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not JSON ({e})") from None
    return records


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("metrics", type=Path, help="a run's metrics.jsonl")
    p.add_argument("--out", type=Path, help="PNG to write (default: beside the metrics file)")
    a = p.parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("error: plotting needs matplotlib: pip install matplotlib", file=sys.stderr)
        return 2
    try:
        records = read_metrics(a.metrics)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    train = [r for r in records if "loss" in r]
    val = [r for r in records if "val_seq_acc" in r]
    if not train and not val:
        print(f"error: {a.metrics}: no metrics to plot", file=sys.stderr)
        return 2
    fig, (ax_loss, ax_acc, ax_lr) = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    ax_loss.plot([r["samples_seen"] for r in train], [r["loss"] for r in train])
    ax_loss.set_ylabel("CTC loss")
    ax_loss.set_yscale("log")
    ax_acc.plot([r["samples_seen"] for r in val], [r["val_seq_acc"] for r in val], "o-", label="sequence")
    ax_acc.plot([r["samples_seen"] for r in val], [r["val_char_acc"] for r in val], "s-", label="character")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.legend()
    ax_lr.plot([r["samples_seen"] for r in train], [r["lr"] for r in train])
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("samples seen")
    for ax in (ax_loss, ax_acc, ax_lr):
        ax.grid(alpha=0.3)
    out = a.out or a.metrics.with_suffix(".png")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
