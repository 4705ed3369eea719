#!/usr/bin/env bash
# datagen.sh — the generators at the FNO paper's settings on one GPU, each with its refinement check
# (docs/data.md): Burgers (configs/burgers1d.yaml, 8192 against 16384 points), Navier-Stokes (96 + 16
# samples, 256^2 solve stored at 64^2, T = 50, against a 512^2 solve), Darcy (200 + 20 samples at
# 421^2, against 841^2).
#   bash bench/gpu/datagen.sh OUT
# Writes OUT/datagen.json: each training split's manifest (generator parameters and
# generator.refinement_check) and the seconds each `fourmi datagen` took, with command, machine, date.
source bench/gpu/common.sh
build_fourmi
cd "$W" || exit 1
# gen NAME DATASET_DIR fourmi-datagen-args...: runs one generator, keeps its manifest and time.
gen() {
  local name=$1 dir=$2 t0
  shift 2
  step "fourmi datagen $*"
  t0=$(date +%s)
  timeout 240 "$F" datagen "$@" --set datagen.check_refinement=2 --set run.progress=false 2>&1 | tail -2
  python3 - "$dir/manifest.json" "$(( $(date +%s) - t0 ))" "$W/res/$name.json" <<'PY'
import json, sys
json.dump({"seconds": int(sys.argv[2]), "manifest": json.load(open(sys.argv[1]))}, open(sys.argv[3], "w"), indent=1)
PY
}
gen burgers1d data/burgers1d-train -c "$REPO/configs/burgers1d.yaml"
# Without -c the embedded configs/debug.yaml applies; its stored level (datagen.levels) is for the demo.
gen navier_stokes2d data/navier_stokes2d-train navier_stokes2d --set datagen.n_train=96 --set datagen.n_test=16 \
  --set datagen.batch=56 --set 'datagen.levels=[]'
gen darcy2d data/darcy2d-train darcy2d --set datagen.n_train=200 --set datagen.n_test=20 --set datagen.batch=100 \
  --set 'datagen.levels=[]'
merge_json "$OUT/datagen.json" "$W/res"
