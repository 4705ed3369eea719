#!/usr/bin/env bash
# gpu_burgers.sh — the FNO paper's Burgers benchmark end to end on one GPU: generate 1000 + 200
# samples at 8192 points (nu = 1e-3), train FNO-1D (width 64, 16 modes, s = 1024) with the paper's
# settings (configs/burgers1d.yaml), evaluate. Reuses build-gpu/ from bench/gpu_run.sh build.
#   bash bench/gpu_burgers.sh OUT_DIR [--set key=value ...]
set -uo pipefail
OUT_DIR=${1:-bench/local}; shift || true
REPO=$(pwd)
export LD_LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
F=$REPO/build-gpu/bin/fourmi
mkdir -p /tmp/burgers && cd /tmp/burgers
t0=$(date +%s)
$F datagen -c "$REPO/configs/burgers1d.yaml" --set run.progress=false "$@" > datagen.log 2>&1 || { tail -20 datagen.log; exit 1; }
t1=$(date +%s)
$F train -c "$REPO/configs/burgers1d.yaml" --set run.progress=false "$@" > train.log 2>&1 || { tail -20 train.log; exit 1; }
t2=$(date +%s)
echo "datagen $((t1 - t0)) s, train $((t2 - t1)) s"
grep -E "datagen|test relative" datagen.log train.log | tail -6
cp train.log "$OUT_DIR/burgers1d_train.log"
cp runs/burgers1d/metrics.jsonl "$OUT_DIR/burgers1d_metrics.jsonl"
cp runs/burgers1d/result.json "$OUT_DIR/burgers1d_result.json"
python3 -c "import json;print(json.dumps(json.load(open('data/burgers1d-train/manifest.json'))['generator']))" > "$OUT_DIR/burgers1d_generator.json"
