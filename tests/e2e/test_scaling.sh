#!/usr/bin/env bash
# End-to-end check of launch/scaling: --dry-run, a weak-scaling sweep over 1, 2 and 4 CPU ranks under
# mpirun (tiny FNO-1D, 2 epochs, profiling on) and its report (report.md, report.csv with one row per
# rank count, scaling chart, per-run roofline and merged trace), and a failing run stopping the sweep.
set -uo pipefail
FOURMI=$(readlink -f "${1:?usage: test_scaling.sh path/to/fourmi}")
SRC=${FOURMI_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
WORK=$(mktemp -d /tmp/fourmi-scaling-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
fails=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; fails=$((fails + 1)); }
csv_column() {  # csv_column FILE NAME: the column's values, space separated
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { printf "%s%s", sep, $c; sep = " " }' "$1"
}
DATA=(--set datagen.out=data/b --set datagen.n_train=64 --set datagen.n_test=8 --set datagen.shards=2
      --set datagen.burgers1d.resolution=128 --set datagen.burgers1d.viscosity=0.05)
# 4 samples per rank: 16 steps an epoch at 1 rank, 4 at 4 ranks; 1 warm-up and 3 profiled steps fit in either.
TRAIN=(--set data.train=data/b-train --set data.test=data/b-test --set data.sub=2 --set run.device=cpu
       --set run.progress=false --set model.width=8 --set model.modes=8 --set model.layers=2
       --set model.projection_width=16 --set train.epochs=2 --set train.eval_every=2 --set train.checkpoint_every=2
       --set profile.warmup_steps=1 --set profile.steps=3)
cp "$SRC/configs/debug.yaml" cfg.yaml
SCALING=("$SRC/launch/scaling" --config cfg.yaml --ranks 1,2,4 --mode weak --batch 4 --fourmi "$FOURMI")

"$FOURMI" datagen burgers1d "${DATA[@]}" > datagen.log 2>&1 && pass "datagen" || { fail "datagen: $(cat datagen.log)"; exit 1; }

"${SCALING[@]}" --out dry --dry-run "${TRAIN[@]}" > dry.log 2>&1
if [ "$(grep -c 'mpirun.sh -n [124] train' dry.log)" = 3 ] && grep -q "report .*--mode weak" dry.log \
   && grep -q "train.batch_size=16" dry.log && [ ! -e dry ]; then pass "--dry-run prints three runs and the report, runs nothing"
else fail "--dry-run: $(cat dry.log)"; fi

start=$(date +%s)
if "${SCALING[@]}" --out sweep "${TRAIN[@]}" > sweep.log 2>&1; then pass "weak sweep over 1, 2, 4 ranks ($(( $(date +%s) - start )) s)"
else fail "sweep: $(cat sweep.log; tail -30 sweep/logs/*.log 2>/dev/null)"; fi
R=sweep/report
[ -f $R/report.md ] && [ -f $R/report.csv ] && [ -f $R/report.json ] && pass "report.md, report.csv, report.json" \
  || fail "report files: $(ls -R sweep)"
[ -s $R/scaling.png ] && [ -s $R/scaling.svg ] && pass "scaling chart (png, svg)" || fail "scaling chart: $(ls $R)"
[ -s $R/roofline-weak-n04.png ] && [ -s $R/trace-weak-n04.json ] && pass "roofline and merged trace of the 4-rank run" \
  || fail "roofline/trace: $(ls $R)"
rows=$(($(wc -l < $R/report.csv) - 1))
[ "$rows" = 3 ] && [ "$(csv_column $R/report.csv ranks)" = "1 2 4" ] && pass "report.csv: 3 rows, ranks 1 2 4" \
  || fail "report.csv: $(cat $R/report.csv)"
[ "$(csv_column $R/report.csv global_batch)" = "4 8 16" ] && pass "weak scaling: 4 samples per rank" \
  || fail "global batches: $(csv_column $R/report.csv global_batch)"
[ -f sweep/runs/weak-n04/profile/rank-00003.json ] && [ -f sweep/logs/weak-n04.log ] && pass "run directories and logs" \
  || fail "runs/logs: $(ls -R sweep/runs sweep/logs)"
grep -q "weak" $R/report.md && grep -q "weak-n02" $R/report.md && pass "report.md names the mode and the runs" \
  || fail "report.md: $(head -20 $R/report.md)"

# The 4-rank run's communication profile: every rank wrote its file, and bandwidths follow nccl-tests' formulas.
PY=${FOURMI_PYTHON:-python3}
if "$PY" - sweep/runs/weak-n04/profile sweep/report/report.json > busbw.log 2>&1 <<'PYEOF'
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/rank-*.json"))
assert len(files) == 4, files
seen = 0
for f in files:
    doc = json.load(open(f))
    assert doc["schema"] == "fourmi.profile/1" and doc["world_size"] == 4
    for c in doc["comm"]:
        n, dur_s = c["ranks"], c["duration_ms"] / 1e3
        if dur_s <= 0 or c["bytes"] == 0:
            continue
        algbw = c["bytes"] / dur_s / 1e9
        factor = {"all_reduce": 2 * (n - 1) / n, "all_gather": (n - 1) / n, "reduce_scatter": (n - 1) / n}.get(c["op"], 1.0)
        assert abs(c["algbw_gbs"] - algbw) <= 1e-6 * algbw, (f, c)
        assert abs(c["busbw_gbs"] - algbw * factor) <= 1e-6 * algbw, (f, c)
        seen += 1
assert seen > 0, "no collectives in the profiled steps"
run = next(r for r in json.load(open(sys.argv[2]))["runs"] if r["run"] == "weak-n04")
for agg in run["comm"]:
    if agg["op"] == "all_reduce" and agg["busbw_gbs"]:
        assert abs(agg["busbw_gbs"] / agg["algbw_gbs"] - 1.5) < 1e-9, agg
print("checked", seen, "collectives")
PYEOF
then pass "4 rank profiles; algbw and busbw follow the formulas ($(cat busbw.log))"; else fail "busbw check: $(cat busbw.log)"; fi

"${SCALING[@]}" --out broken "${TRAIN[@]}" --set model.bogus=1 > broken.log 2>&1; rc=$?
if [ $rc -ne 0 ] && grep -q "run weak-n01 failed" broken.log && grep -q "broken/logs/weak-n01.log" broken.log \
   && [ ! -e broken/runs/weak-n02 ] && [ ! -e broken/report ]; then pass "a failed run stops the sweep and names its log"
else fail "failing sweep (rc=$rc): $(cat broken.log)"; fi

if [ $fails -eq 0 ]; then echo "scaling e2e: all passed"; exit 0; else echo "scaling e2e: $fails failed"; exit 1; fi
