#!/usr/bin/env bash
# mode_parallel.sh — mode parallelism on 4 GPUs (bench/results/mode_parallel.json, docs/mode_parallel.md):
# memory and step time of FNO-3D (width 64, 24 modes, 64^3) at M = 1, 2, 4 with fourmi-bench-mp; the
# showcase FNO-3D (configs/fno3d-showcase.yaml, 9.66 G parameters) at M = 4, and at M = 1 on one GPU
# (expected: out of memory); then the showcase trained on Navier-Stokes in space-time with M = 4.
#   bash bench/gpu/mode_parallel.sh OUT          (needs 4 GPUs)
# Writes OUT/mode_parallel.json (fourmi-bench-mp's runs, the training epochs, the M = 1 error, with
# command, machine, date) and OUT/showcase_train.log.
source bench/gpu/common.sh
need_gpus 4
build_fourmi fourmi-bench-mp
MP=$REPO/build-gpu/bin/fourmi-bench-mp
cd "$W" || exit 1
for m in 1 2 4; do
  step "fourmi-bench-mp, FNO-3D width 64, 24 modes, 64^3, M = $m"
  timeout 150 "${MPIRUN[@]}" -np $m "$MP" -c "$REPO/configs/fno3d.yaml" --set parallel.modes=$m \
    --label "fno3d-w64-m24-64^3" --per-replica 4 --grid 64 --json "$W/res/bench_mp.json" > "mp_$m.log" 2>&1
  grep -vE "^\| " "mp_$m.log" | tail -3 | cut -c1-300
done
step "fourmi-bench-mp, showcase (width 96, 32 modes), M = 4"
timeout 150 "${MPIRUN[@]}" -np 4 "$MP" -c "$REPO/configs/fno3d-showcase.yaml" --label "fno3d-w96-m32-64^3 (showcase)" \
  --per-replica 2 --grid 64 --steps 5 --json "$W/res/bench_mp.json" > mp_showcase.log 2>&1
grep -vE "^\| " mp_showcase.log | tail -3 | cut -c1-300
step "showcase with M = 1 on one GPU (expected: out of memory)"
timeout 100 "$MP" -c "$REPO/configs/fno3d-showcase.yaml" --set parallel.modes=1 --per-replica 2 --grid 64 --steps 1 \
  --warmup 1 2>&1 | grep -iE "out of memory|error|step" | head -1 | cut -c1-400 > showcase_m1.txt
cat showcase_m1.txt
step "showcase data: Navier-Stokes in space-time, 48 + 8 samples of 64 x 64 x 64"
timeout 150 "$F" datagen -c "$REPO/configs/fno3d-showcase.yaml" --set run.progress=false 2>&1 | tail -1
step "showcase training, M = 4"
timeout 240 "${MPIRUN[@]}" -np 4 "$F" train -c "$REPO/configs/fno3d-showcase.yaml" --set run.progress=false \
  --set train.eval_every=1 > "$OUT/showcase_train.log" 2>&1
grep -E "epoch|test rel|rror" "$OUT/showcase_train.log" | tail -6
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
epochs = [json.loads(l) for l in open(f"{w}/runs/fno3d-showcase/metrics.jsonl") if l.strip()]
json.dump({"showcase_training": epochs, "showcase_single_gpu": open(f"{w}/showcase_m1.txt").read().strip()},
          open(f"{w}/res/showcase.json", "w"), indent=1)
PY
merge_json "$OUT/mode_parallel.json" "$W/res"
