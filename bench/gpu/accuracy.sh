#!/usr/bin/env bash
# accuracy.sh — rows of the FNO paper's table reproduced on one GPU: `fourmi datagen` and
# `fourmi train` with the row's config (configs/burgers1d.yaml, configs/darcy2d.yaml), the test
# relative L2 against the paper's.
#   bash bench/gpu/accuracy.sh OUT burgers|darcy [--set key=value ...]
# Writes OUT/accuracy-<row>.json (the row: benchmark, paper_error, fourmi_error, epochs,
# train_seconds, datagen_seconds, device, command, date), OUT/<row>_train.log and metrics.
# tools/accuracy_table.py merges rows into bench/results/accuracy.json and docs/results.md.
source bench/gpu/common.sh
shift
row=${1:?usage: bash bench/gpu/accuracy.sh OUT burgers|darcy [--set k=v ...]}
shift
case "$row" in
  burgers) config=configs/burgers1d.yaml name=burgers1d benchmark="Burgers, s = 1024" paper=0.0160 ;;
  darcy) config=configs/darcy2d.yaml name=darcy2d benchmark="Darcy, s = 85" paper=0.0108 ;;
  *) echo "unknown row '$row'; accepted: burgers, darcy" >&2; exit 2 ;;
esac
build_fourmi
cd "$W" || exit 1
t0=$(date +%s)
step "fourmi datagen -c $config $*"
"$F" datagen -c "$REPO/$config" --set run.progress=false "$@" > datagen.log 2>&1 || { tail -20 datagen.log; exit 1; }
t1=$(date +%s)
step "fourmi train -c $config $*"
"$F" train -c "$REPO/$config" --set run.progress=false "$@" > "$OUT/${name}_train.log" 2>&1 \
  || { tail -20 "$OUT/${name}_train.log"; exit 1; }
t2=$(date +%s)
grep -E "test relative" "$OUT/${name}_train.log" | tail -1
cp "runs/$name/metrics.jsonl" "$OUT/${name}_metrics.jsonl"
python3 - "$OUT/accuracy-$row.json" "runs/$name/result.json" "$benchmark" "$paper" $((t1 - t0)) $((t2 - t1)) \
  "$COMMAND" "$MACHINE" "$DATE" "$config" <<'PY'
import json, sys
out, result, benchmark, paper, datagen_s, train_s, command, machine, date, config = sys.argv[1:]
r = json.load(open(result))
row = {"benchmark": benchmark, "paper_error": float(paper), "fourmi_error": r["test_rel_l2"],
       "epochs": r["epochs_run"], "train_seconds": float(train_s), "datagen_seconds": float(datagen_s),
       "device": machine, "command": command, "config": config, "date": date}
json.dump(row, open(out, "w"), indent=1)
print(json.dumps(row))
PY
