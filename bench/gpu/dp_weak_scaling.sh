#!/usr/bin/env bash
# dp_weak_scaling.sh — data-parallel weak scaling of FNO-2D `medium` and `large`: fourmi against
# PyTorch DDP on the same machine in the same command (bench/results/dp_scaling.json and its plot).
#   bash bench/gpu/dp_weak_scaling.sh OUT [--set key=value ...]
# At each GPU count of COUNTS (default: 1 2 4, those the machine has): fourmi-bench-dp with the
# defaults (plus any --set given), then bench/reference/torch_fno.py ddp; at the largest count also
# the all-reduce bus bandwidth through fourmi's communicator and through torch.distributed (raw NCCL).
# Writes OUT/dp_scaling_raw.json (every run's own JSON, with command, machine, date) and, through
# tools/dp_scaling_report.py, OUT/dp_scaling.json, OUT/dp_scaling.png and .svg.
source bench/gpu/common.sh
shift
SETS=("$@")
build_fourmi
COUNTS=${COUNTS:-1 2 4}
counts=()
for n in $COUNTS; do [ "$n" -le "$GPUS" ] && counts+=("$n"); done
top=${counts[-1]}
CONFIGS=$REPO/configs/fno2d-medium.yaml,$REPO/configs/fno2d-large.yaml
for n in "${counts[@]}"; do
  extra=()
  [ "$n" = "$top" ] && [ "$n" -gt 1 ] && extra=(--allreduce)
  step "fourmi-bench-dp, $n GPU(s) ${SETS[*]}"
  timeout 150 "${MPIRUN[@]}" -np "$n" "$DP" --configs "$CONFIGS" "${SETS[@]}" "${extra[@]}" \
    --json "$W/res/fourmi_dp_np$n.json" 2>&1 | grep '^{' | cut -c1-220
  step "PyTorch DDP reference, $n GPU(s)"
  timeout 150 "${TORCHRUN[@]}" --nproc_per_node="$n" "$REFERENCE" ddp --configs medium,large \
    --json "$W/res/ddp_np$n.json" 2>&1 | grep '^{' | cut -c1-220
done
if [ "$top" -gt 1 ]; then
  step "raw NCCL all-reduce (torch.distributed), $top GPUs"
  timeout 120 "${TORCHRUN[@]}" --nproc_per_node="$top" "$REFERENCE" allreduce \
    --json "$W/res/nccl_allreduce_np$top.json" 2>&1 | grep '^{' | cut -c1-200
fi
merge_json "$OUT/dp_scaling_raw.json" "$W/res"
python3 tools/dp_scaling_report.py "$OUT/dp_scaling_raw.json" --out "$OUT" --command "$COMMAND" --date "$DATE" \
  --machine "$MACHINE" > "$W/report.log" 2>&1 || { cat "$W/report.log"; exit 1; }
step "done: $OUT/dp_scaling.json"
