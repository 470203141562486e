#!/usr/bin/env bash
# Train `words` on a lent GPU for a few minutes (issue 11): render words there, train from the CPU run's best.
#
#   bash tools/device_words.sh prepare          # here: .devbundle (about 30 MB) and the tree made small enough
#   device run: command "bash tools/device_words.sh train", carry [".devbundle", "checkpoints/words/best.pt"],
#               timeout_s 600                   # there: about 2 min rendering, then training until 8.5 min
#   bash tools/device_words.sh restore          # here: put back what prepare moved aside
#   bash tools/device_words.sh train-check      # here, on the CPU: the same steps at toy size, to test the script
#
# What travels is limited to 64 MiB with the tree, and no file over 16 MiB comes back: prepare moves the shipped
# weights and exports and the 32 MB resumable state out of the tree (to .devhold/, ignored) until restore; the
# run there starts from checkpoints/words/best.pt (--init) and sends back its best.pt and metrics.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
HOLD=.devhold

case "$mode" in
prepare)
    grep -qx '/.devbundle/' .git/info/exclude 2>/dev/null || echo '/.devbundle/' >> .git/info/exclude
    grep -qx '/.devhold/' .git/info/exclude 2>/dev/null || echo '/.devhold/' >> .git/info/exclude
    python tools/device_bundle.py --out .devbundle
    test -f checkpoints/words/best.pt || { echo "error: checkpoints/words/best.pt is missing" >&2; exit 2; }
    mkdir -p "$HOLD"
    for f in $(git ls-files '*.onnx' '*/weights/*.pt' checkpoints/words/last.pt); do
        mkdir -p "$HOLD/$(dirname "$f")" && mv "$f" "$HOLD/$f"
    done
    du -sh .devbundle "$HOLD"
    ;;
restore)
    (cd "$HOLD" && find . -type f) | while read -r f; do mv "$HOLD/$f" "$f"; done
    rm -rf "$HOLD"
    git status --short | head
    ;;
train | train-check)
    if [ "$mode" = train ]; then
        count=${COUNT:-500000} workers=15 batch=256 minutes=${MINUTES:-6} val_every=500 device=cuda
        work=/tmp/words-gpu out=${OUT:?run on the device machine, which sets OUT}
    else
        count=64 workers=2 batch=8 minutes=1 val_every=10 device=cpu
        work=$(mktemp -d) out=$work/out
    fi
    B=.devbundle
    export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE
    mkdir -p "$out"
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    start=$(date +%s)
    python3 tools/make_words.py --out "$work/synth" -n "$count" --seed "${SEED:-31}" --workers "$workers" \
        --words "$B/dict/american-english" --fonts "$B/fonts" --photos "$B/photos" 2>&1 | tail -2
    echo "rendered $count in $(( $(date +%s) - start )) s"
    # the same input and charset as the CPU run; the schedule is fitted to --minutes from the measured speed
    python3 -m ocr train "$work/synth" --val "$B/val/svt-train" "$B/val/icdar2003-train" \
        --init checkpoints/words/best.pt --charset latin --width 128 --height 64 --resize stretch --no-trim \
        --no-clutter --select folded --batch-size "$batch" --lr 1e-3 --warmup 200 \
        --val-every "$val_every" --device "$device" --workers "$workers" --minutes "$minutes" --quiet \
        --out "$work/run" 2>&1 | tail -20
    cp "$work/run/best.pt" "$work/run/metrics.jsonl" "$work/run/run.json" "$out/"  # last.pt (32 MB) cannot come back
    ls -la "$out"
    ;;
*)
    sed -n '2,13p' "$0"
    exit 2
    ;;
esac
