#!/usr/bin/env bash
# profiler_overhead.sh — what profiling costs (bench/results/profiler_overhead_h200.json, docs/profiles.md):
# steps.overhead_pct of profiled runs with the default profile settings, on the launch-bound Burgers
# step at 4 GPUs (REPS runs, default 8) and on FNO-2D `large` at 1 GPU.
#   bash bench/gpu/profiler_overhead.sh OUT          (needs 4 GPUs)
# Writes OUT/profiler_overhead.json: every run's overhead, profiled and plain median step, the
# profiler's own host time, and the mean, SD, min and max over the Burgers runs.
source bench/gpu/common.sh
need_gpus 4
build_fourmi
cd "$W" || exit 1
burgers_data
for rep in $(seq 1 "${REPS:-8}"); do
  step "Burgers, 4 GPUs, default profiling, run $rep"
  timeout 100 "$REPO/launch/mpirun.sh" -n 4 train -c "$REPO/configs/burgers1d.yaml" --set train.epochs=40 \
    --set train.batch_size=80 --set train.eval_every=1000 --set train.checkpoints=false --set run.progress=false \
    --set profile.enabled=true --set run.name="burgers-$rep" 2>&1 | grep "profile:"
  cp "runs/burgers-$rep/profile/rank-00000.json" "$W/burgers-$rep.json"
done
darcy256
step "FNO-2D large, 1 GPU, default profiling"
timeout 150 "$F" train -c "$REPO/configs/fno2d-large.yaml" "${DARCY[@]}" --set train.epochs=8 --set profile.enabled=true \
  --set run.name=large 2>&1 | grep "profile:"
cp runs/large/profile/rank-00000.json "$W/large.json"
python3 - "$W/res/overhead.json" "$W"/burgers-*.json "$W/large.json" <<'PY'
import json, os, statistics, sys
runs = []
for path in sys.argv[2:]:
    s = json.load(open(path))["steps"]
    runs.append({"run": os.path.basename(path)[:-5], "overhead_pct": s.get("overhead_pct"),
                 "step_ms_profiled_wall_median": s.get("wall_ms_profiled"),
                 "step_ms_plain_wall_median": s.get("wall_ms_unprofiled"),
                 "profiler_host_ms_median_per_profiled_step": s.get("profiler_host_ms"), "op_sampling": s.get("op_sampling")})
b = [r["overhead_pct"] for r in runs if r["run"].startswith("burgers") and r["overhead_pct"] is not None]
summary = {"burgers_4gpu_runs": len(b)}
if b:
    summary.update(mean=statistics.mean(b), sd=statistics.stdev(b) if len(b) > 1 else 0.0, min=min(b), max=max(b))
json.dump({"runs": runs, "burgers_4gpu_summary": summary}, open(sys.argv[1], "w"), indent=1)
print(json.dumps(summary))
PY
merge_json "$OUT/profiler_overhead.json" "$W/res"
