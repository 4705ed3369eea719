#!/usr/bin/env bash
# ncu_gemm_flops.sh — the profile's analytic GEMM FLOPs against Nsight Compute's instruction counts
# (bench/results/ncu_gemm_flops.json, docs/profiles.md), and the cuBLAS complex-GEMM probes that
# show where the two differ.
#   bash bench/gpu/ncu_gemm_flops.sh OUT
# For FNO-2D `large` (256^2, batch 16) and `medium` (128^2, batch 32) on Darcy data, TF32 off so the
# GEMMs run on the FMA pipes: one profiled training step (the analytic count), then the same step plus
# one evaluation forward under ncu (fadd + fmul + 2 ffma of every GEMM-like kernel), compared by
# tools/ncu_gemm_flops.py. Then each of cuBLAS's three complex products of a `large` layer once under
# ncu, in both orientations (fourmi-bench-mix --probe). Writes OUT/ncu_gemm_flops.json.
source bench/gpu/common.sh
build_fourmi fourmi-bench-mix
cd "$W" || exit 1
darcy256
METRICS=smsp__sass_thread_inst_executed_op_fadd_pred_on.sum,smsp__sass_thread_inst_executed_op_fmul_pred_on.sum
METRICS=$METRICS,smsp__sass_thread_inst_executed_op_ffma_pred_on.sum
KERNELS='regex:gemm|Gemm|GEMM|cutlass|xmma|gemv'
# compare NAME CONFIG BATCH [--set ...]: the analytic and the counted FLOPs of one step of CONFIG.
compare() {
  local name=$1 cfg=$2 batch=$3
  shift 3
  local run=(-c "$REPO/configs/$cfg.yaml" "${DARCY[@]}" --set run.tf32=false --set data.n_train="$batch"
             --set data.n_test="$batch" --set train.epochs=1 --set train.batch_size="$batch" --set data.shuffle=false "$@")
  step "Nsight Compute: GEMM-like kernels of one step of $cfg, batch $batch"
  timeout 150 "$F" train "${run[@]}" --set run.name="ref-$name" --set profile.enabled=true --set profile.sample_ops=false \
    --set profile.warmup_steps=0 --set profile.steps=1 > "ref-$name.log" 2>&1 || { tail -5 "ref-$name.log"; return; }
  timeout 250 ncu --target-processes all -k "$KERNELS" --metrics "$METRICS" --csv --page raw \
    "$F" train "${run[@]}" --set profile.enabled=false --set run.name="ncu-$name" > "ncu-$name.csv" 2> "ncu-$name.err"
  python3 "$REPO/tools/ncu_gemm_flops.py" "ncu-$name.csv" "runs/ref-$name/profile/rank-00000.json" \
    --out "$W/res/$name.json" --device "$MACHINE" --command "$COMMAND" \
    --config "configs/$cfg.yaml, batch $batch $*, TF32 off (GEMMs on the FMA pipes)"
}
compare fno2d-large fno2d-large 16
compare fno2d-medium fno2d-medium 32 --set data.sub=2
step "cuBLAS complex GEMMs of a large layer under ncu: executed over useful FLOPs"
for probe in fwd fwd,t dx dx,t dw dw,t; do
  timeout 100 ncu -k "$KERNELS" --metrics "$METRICS" --csv --page raw \
    "$REPO/build-gpu/bin/fourmi-bench-mix" --probe $probe > "probe-${probe/,/_}.csv" 2>&1
done
python3 - "$REPO/tools" "$W/res/cublas_complex_gemm_probes.json" probe-*.csv <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from ncu_gemm_flops import kernel_flops
useful = 8 * 2048 * 16 * 64 * 64  # complex GEMM of a large layer: 2048 modes, batch 16, 64 -> 64 channels
probes = []
for path in sys.argv[3:]:
    product = path[len("probe-"):-len(".csv")]
    for k in kernel_flops(path):
        probes.append({"product": product, "kernel": k["kernel"], "executed_gflop": k["flops"] / 1e9,
                       "useful_gflop": useful / 1e9, "executed_over_useful": k["flops"] / useful})
        print(f"{product:5s} {k['flops'] / useful:5.2f} x useful  {k['kernel'][:100]}")
json.dump({"what": "one cuBLAS complex batched GEMM of a large layer (2048 modes, batch 16, 64 -> 64): fwd x.w, "
                   "dx dy.w^H, dw x^H.dy; _t: the same product computed as C^T = B^T A^T", "probes": probes},
          open(sys.argv[2], "w"), indent=1)
PY
merge_json "$OUT/ncu_gemm_flops.json" "$W/res"
