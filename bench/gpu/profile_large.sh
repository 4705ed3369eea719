#!/usr/bin/env bash
# profile_large.sh — the machine's roofline ceilings and the roofline profile of FNO-2D `large` on one
# GPU (bench/results/peaks_h200.json, bench/results/profile_large_h200/, docs/profiles.md and its chart).
#   bash bench/gpu/profile_large.sh OUT
# `fourmi bench peak`; Darcy data at 256^2; `fourmi train -c configs/fno2d-large.yaml` for 2 epochs,
# profiled (5 warm-up steps, 20 profiled steps alternating with 20 plain ones, every op timed in every
# profiled step); `fourmi report` of the run. Writes OUT/peaks.json, OUT/profile_large/ (rank files)
# and OUT/report/ (report.md, roofline-large-1gpu.png/.svg), and OUT/profile_large.json (the
# step summary with command, machine, date). TRANSFORM=dft profiles the truncated-DFT layer
# (the GPU default); the committed profile is of the FFT layer.
source bench/gpu/common.sh
build_fourmi
cd "$W" || exit 1
step "fourmi bench peak"
timeout 180 "$F" bench peak --out "$OUT/peaks.json" 2>&1 | tail -6
darcy256
step "profiled FNO-2D large, 1 GPU, every op in every profiled step"
timeout 180 "$F" train -c "$REPO/configs/fno2d-large.yaml" "${DARCY[@]}" --set train.epochs=2 \
  --set model.spectral_transform="${TRANSFORM:-fft}" --set profile.enabled=true --set profile.sample_ops=false --set profile.warmup_steps=5 --set profile.steps=20 \
  --set profile.peaks="$OUT/peaks.json" --set run.name=large-1gpu 2>&1 | grep -E "profile:|rror"
cp -r runs/large-1gpu/profile "$OUT/profile_large"
"$F" report runs/large-1gpu --out "$OUT/report" 2>&1 | tail -2
json_keys runs/large-1gpu/profile/rank-00000.json "$W/res/profile.json" steps peaks device
merge_json "$OUT/profile_large.json" "$W/res"
