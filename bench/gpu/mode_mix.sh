#!/usr/bin/env bash
# mode_mix.sh — the spectral layers' per-mode complex products on one GPU (bench/results/mode_mix_h200.json,
# docs/profiles.md): cuBLAS's batched GEMM against every variant of fourmi's CUDA kernel
# (fourmi-bench-mix), and the whole FNO-2D `medium` and `large` training step with the mode mixing on
# cuBLAS (what training uses) and on the kernel (fourmi-bench-dp --mix-kernel).
#   bash bench/gpu/mode_mix.sh OUT
# Writes OUT/mode_mix.json (both programs' JSON, with command, machine, date).
source bench/gpu/common.sh
build_fourmi fourmi-bench-mix
step "fourmi-bench-mix: the three products of a medium and a large layer, cuBLAS and the kernel's variants"
timeout 200 "$REPO/build-gpu/bin/fourmi-bench-mix" --json "$W/res/products.json" | cut -c1-200
CONFIGS=$REPO/configs/fno2d-medium.yaml,$REPO/configs/fno2d-large.yaml
step "fourmi-bench-dp, 1 GPU, mode mixing on cuBLAS"
timeout 150 "$DP" --configs "$CONFIGS" --json "$W/res/step_cublas.json" 2>&1 | grep '^{' | cut -c1-200
step "fourmi-bench-dp, 1 GPU, mode mixing on fourmi's kernel"
timeout 150 "$DP" --configs "$CONFIGS" --mix-kernel --json "$W/res/step_kernel.json" 2>&1 | grep '^{' | cut -c1-200
merge_json "$OUT/mode_mix.json" "$W/res"
