#!/usr/bin/env bash
# burgers.sh — the FNO paper's Burgers benchmark end to end on one GPU (bench/results/burgers1d_h200/):
# `fourmi datagen` and `fourmi train` with configs/burgers1d.yaml (1000 + 200 solves at 8192 points,
# nu = 1e-3; FNO-1D width 64, 16 modes, s = 1024, 500 epochs), any --set applied to both.
#   bash bench/gpu/burgers.sh OUT [--set key=value ...]      e.g. --set datagen.batch=200
# Writes OUT/burgers1d_train.log, OUT/burgers1d_metrics.jsonl and OUT/burgers1d.json (the run's
# result.json, the dataset's generator block, datagen and training seconds, command, machine, date).
source bench/gpu/common.sh
shift
build_fourmi
cd "$W" || exit 1
t0=$(date +%s)
step "fourmi datagen -c configs/burgers1d.yaml $*"
"$F" datagen -c "$REPO/configs/burgers1d.yaml" --set run.progress=false "$@" > datagen.log 2>&1 || { tail -20 datagen.log; exit 1; }
t1=$(date +%s)
step "fourmi train -c configs/burgers1d.yaml $*"
"$F" train -c "$REPO/configs/burgers1d.yaml" --set run.progress=false "$@" > "$OUT/burgers1d_train.log" 2>&1 \
  || { tail -20 "$OUT/burgers1d_train.log"; exit 1; }
t2=$(date +%s)
grep -E "test relative" "$OUT/burgers1d_train.log" | tail -1
cp runs/burgers1d/metrics.jsonl "$OUT/burgers1d_metrics.jsonl"
cp runs/burgers1d/result.json "$W/res/result.json"
json_keys data/burgers1d-train/manifest.json "$W/res/generator.json" generator
echo "{\"datagen_s\": $((t1 - t0)), \"train_s\": $((t2 - t1))}" > "$W/res/seconds.json"
merge_json "$OUT/burgers1d.json" "$W/res"
