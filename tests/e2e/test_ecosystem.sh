#!/usr/bin/env bash
# End-to-end: what fourmi hands to its users' other tools. `fourmi predict` (HDF5 predictions
# whose per-sample errors, read back with h5py alone, are `fourmi eval`'s; the same files from 1
# and 2 ranks), `fourmi export` (the model file that python/fourmi_torch loads as a
# torch.nn.Module reproducing the predictions to 1e-5) for FNO-1D with padding and Gaussian
# normalisation, FNO-2D, FNO-3D, an autoregressive FNO-2D (model.rollout_steps) and a checkpoint
# written with parallel.modes = 2, and the TensorBoard event files of a run as `tensorboard --logdir runs` reads them.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
FOURMI=$(readlink -f "${1:?usage: test_ecosystem.sh path/to/fourmi}")
export FOURMI_SOURCE_DIR=${FOURMI_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
PY=${FOURMI_PYTHON:-python3}
CHECK=("$PY" "$HERE/check_predictions.py")
WORK=$(mktemp -d /tmp/fourmi-ecosystem-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
MPIRUN=(mpirun --oversubscribe --allow-run-as-root --mca btl self,vader)
# FOURMI_E2E_DEVICE=cuda (tools/gpu-tests.sh) runs the one-process cases on the GPU, predicting
# in fp32 (run.tf32: false) so that the CPU module must match to 1e-5; the mpirun cases need one
# device per rank and run on the CPU only.
DEVICE=${FOURMI_E2E_DEVICE:-cpu}
COMMON=(--set run.device=$DEVICE --set run.tf32=false --set run.progress=false --set train.eval_every=1
        --set train.batch_size=4)

# run_case NAME DATAGEN_ARGS... -- TRAIN_ARGS...: datagen, train, eval, predict, export, compare.
run_case() {
  local name=$1; shift
  local gen=() train=()
  while [ "$1" != "--" ]; do gen+=("$1"); shift; done; shift
  train=("$@")
  # eval, predict and export take the model from the checkpoint and run as one process: they get
  # the training arguments (which agree with the checkpoint) without the mode split.
  local launch=() rest=() i
  for ((i = 0; i < ${#train[@]}; i++)); do
    if [ "${train[i]}" = --set ] && [ "${train[i + 1]}" = parallel.modes=2 ]; then launch=("${MPIRUN[@]}" -np 2); i=$((i + 1))
    else rest+=("${train[i]}"); fi
  done
  local cfg=(--set datagen.out=data/$name --set data.train=data/$name-train --set data.test=data/$name-test
             --set run.name=$name "${COMMON[@]}")
  "$FOURMI" datagen "${gen[@]}" "${cfg[@]}" > $name-datagen.log 2>&1 || { fail "$name: datagen: $(tail -3 $name-datagen.log)"; return; }
  "${launch[@]}" "$FOURMI" train "${cfg[@]}" "${train[@]}" > $name-train.log 2>&1 || { fail "$name: train: $(tail -3 $name-train.log)"; return; }
  "$FOURMI" eval "${cfg[@]}" "${rest[@]}" > $name-eval.log 2>&1 || { fail "$name: eval: $(tail -3 $name-eval.log)"; return; }
  "$FOURMI" predict "${cfg[@]}" "${rest[@]}" --out $name-pred > $name-predict.log 2>&1 || { fail "$name: predict: $(tail -3 $name-predict.log)"; return; }
  out=$("$PY" "$HERE/check_tensorboard.py" runs runs/$name 2>&1) && pass "$name: TensorBoard: $out" || fail "$name: TensorBoard: $out"
  out=$("${CHECK[@]}" errors $name-pred runs/$name/eval.json 2>&1) && pass "$name: predict: $out" || fail "$name: predict: $out"
  "$FOURMI" export "${cfg[@]}" "${rest[@]}" --out $name.safetensors > $name-export.log 2>&1 || { fail "$name: export: $(tail -3 $name-export.log)"; return; }
  out=$("${CHECK[@]}" export $name.safetensors $name-pred 2>&1) && pass "$name: export: $out" || fail "$name: export: $out"
  if [ "$DEVICE" = cuda ]; then
    out=$("${CHECK[@]}" export $name.safetensors $name-pred cuda 2>&1) && pass "$name: export, module on the GPU: $out" \
      || fail "$name: export, module on the GPU: $out"
  fi
}

BURGERS=(burgers1d --set datagen.n_train=24 --set datagen.n_test=8 --set datagen.shards=3
         --set datagen.burgers1d.resolution=256 --set datagen.burgers1d.viscosity=0.05)
MODEL1D=(--set data.sub=2 --set model.width=8 --set model.modes=8 --set model.layers=3 --set model.projection_width=16
         --set train.epochs=3)
run_case b1d "${BURGERS[@]}" -- "${MODEL1D[@]}" --set model.padding=0.25 --set data.normalize=gaussian
run_case darcy darcy2d --set datagen.n_train=16 --set datagen.n_test=6 --set datagen.shards=2 \
  --set datagen.darcy2d.resolution=32 -- --set model.dim=2 --set model.modes=6 --set model.width=8 --set model.layers=2 \
  --set model.projection_width=16 --set model.padding=0.1 --set data.normalize=gaussian --set train.epochs=2
run_case ns3d navier_stokes2d --set datagen.n_train=8 --set datagen.n_test=4 --set datagen.shards=2 \
  --set datagen.navier_stokes2d.resolution=32 --set datagen.navier_stokes2d.store_resolution=16 \
  --set datagen.navier_stokes2d.snapshots=8 --set datagen.navier_stokes2d.interval=0.25 \
  --set datagen.navier_stokes2d.layout=spacetime -- --set data.sub=1 --set model.dim=3 --set model.modes=[4,4,3] --set model.width=6 \
  --set model.layers=2 --set model.projection_width=8 --set train.epochs=1 --set train.batch_size=2
# The FNO paper's Navier-Stokes FNO-2D: one snapshot in, one out, rolled out 4 steps.
run_case rollout navier_stokes2d --set datagen.n_train=8 --set datagen.n_test=4 --set datagen.shards=2 \
  --set datagen.navier_stokes2d.resolution=32 --set datagen.navier_stokes2d.store_resolution=16 \
  --set datagen.navier_stokes2d.snapshots=4 --set datagen.navier_stokes2d.interval=0.25 -- --set data.sub=1 \
  --set model.dim=2 --set model.modes=[4,4] --set model.width=6 --set model.layers=2 --set model.projection_width=8 \
  --set model.rollout_steps=4 --set train.epochs=1 --set train.batch_size=2
if [ "$DEVICE" = cuda ]; then finish ecosystem; fi
run_case modes "${BURGERS[@]}" -- "${MODEL1D[@]}" --set parallel.modes=2
# The autoregressive FNO-2D with its modes split over two ranks.
run_case rollout-modes navier_stokes2d --set datagen.n_train=8 --set datagen.n_test=4 --set datagen.shards=2 \
  --set datagen.navier_stokes2d.resolution=32 --set datagen.navier_stokes2d.store_resolution=16 \
  --set datagen.navier_stokes2d.snapshots=4 --set datagen.navier_stokes2d.interval=0.25 -- --set data.sub=1 \
  --set model.dim=2 --set model.modes=[4,4] --set model.width=6 --set model.layers=2 --set model.projection_width=8 \
  --set model.rollout_steps=4 --set train.epochs=1 --set train.batch_size=2 --set parallel.modes=2

# The same predictions from two data-parallel ranks (each predicts its own shards) and from a
# mode group of two (the model's modes split, the same shards on both).
B1D=(--set datagen.out=data/b1d --set data.train=data/b1d-train --set data.test=data/b1d-test --set run.name=b1d
     --set data.sub=2 "${COMMON[@]}")
if "${MPIRUN[@]}" -np 2 "$FOURMI" predict "${B1D[@]}" --out b1d-pred-np2 > np2.log 2>&1; then
  out=$("${CHECK[@]}" same b1d-pred-np2 b1d-pred 2>&1) && pass "mpirun -np 2 predict: $out" || fail "mpirun -np 2 predict: $out"
else fail "mpirun -np 2 predict: $(tail -3 np2.log)"; fi
if "${MPIRUN[@]}" -np 2 "$FOURMI" predict "${B1D[@]}" --set parallel.modes=2 --out b1d-pred-m2 > m2.log 2>&1; then
  out=$("${CHECK[@]}" same b1d-pred-m2 b1d-pred 2>&1) && pass "predict with parallel.modes=2: $out" || fail "predict with parallel.modes=2: $out"
else fail "predict with parallel.modes=2: $(tail -3 m2.log)"; fi

# What a user gets wrong.
expect_fail "predict on a dataset of another shape" "samples are x" \
  "$FOURMI" predict "${B1D[@]}" --data data/darcy-test --out wrong
expect_fail "fourmi_torch.load on a training checkpoint" "run \`fourmi export" \
  "$PY" -c "import sys, glob; sys.path.insert(0, '$FOURMI_SOURCE_DIR/python'); import fourmi_torch
try: fourmi_torch.load(sorted(glob.glob('runs/b1d/checkpoints/*.safetensors'))[-1])
except ValueError as e: sys.exit(f'error: {e}')"
finish ecosystem
