#!/usr/bin/env bash
# End-to-end `fourmi import`: files written in other programs' layouts (tests/e2e/write_sources.py:
# a PDEBench 1D Burgers HDF5 file, the FNO paper's Darcy layout as MATLAB v5, its Navier-Stokes
# layout as MATLAB v7.3, a user's HDF5 file with time last, NumPy .npy files C- and Fortran-ordered)
# import with the configs of configs/import/; the imported samples equal the source's (read back
# with h5py/scipy); the source's checksum is in the manifest; three of them train and evaluate;
# bad sources are refused naming the file, the variable and what is accepted.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
FOURMI=$(readlink -f "${1:?usage: test_import.sh path/to/fourmi}")
SRC=${FOURMI_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
PY=${FOURMI_PYTHON:-python3}
WORK=$(mktemp -d /tmp/fourmi-import-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
"$PY" "$HERE/write_sources.py" src || { echo "cannot write the source files"; exit 1; }
RUN=(--set run.device=cpu --set run.progress=false)

# same OUT_PREFIX PYTHON_EXPR_X PYTHON_EXPR_Y FIRST_TEST: the imported samples against the source
# (numpy expressions over `f`, the source opened as h5py/scipy, indexed by sample), and the
# source's CRC-32 in the manifest.
same() {
  "$PY" - "$@" <<'PYEOF'
import json, sys, zlib, h5py, numpy as np, scipy.io
out, src, ex, ey, first_test = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
if src.endswith("_v5.mat"):
    f = scipy.io.loadmat(src)
elif src.endswith("/npy"):
    f = {k: np.load(f"{src}/{k}.npy") for k in ("inputs", "targets")}
else:
    f = h5py.File(src, "r")
worst, n = 0.0, 0
for split, first in (("train", 0), ("test", first_test)):
    m = json.load(open(f"{out}-{split}/manifest.json"))
    i = first
    for s in m["shards"]:
        with h5py.File(f"{out}-{split}/{s['file']}", "r") as shard:
            for k in range(s["num_samples"]):
                for field, expr in (("x", ex), ("y", ey)):
                    want = np.asarray(eval(expr, {"f": f, "i": i, "np": np}), dtype=np.float32)
                    got = shard[field][k]
                    if got.shape != want.shape:
                        sys.exit(f"mismatch: {split} sample {k} /{field}: shape {got.shape}, source {want.shape}")
                    worst = max(worst, float(np.abs(got - want).max()))
                    n += 1
                i += 1
    src_meta = m["generator"]["import"]["source"]
    if "crc32" in src_meta and src_meta["crc32"] != f"{zlib.crc32(open(src, 'rb').read()):08x}":
        sys.exit(f"mismatch: manifest crc32 {src_meta['crc32']} is not the source file's")
if worst != 0.0:
    sys.exit(f"mismatch: largest difference {worst}")
print(f"{n} arrays equal to the source's, source CRC-32 in the manifest")
PYEOF
}
import_case() {  # import_case NAME CHECK_ARGS(4) -- IMPORT_ARGS...
  local name=$1 src=$2 ex=$3 ey=$4 first=$5; shift 6
  if "$FOURMI" import "${RUN[@]}" "$@" --set import.out=data/$name > $name-import.log 2>&1; then
    out=$(same data/$name "$src" "$ex" "$ey" "$first" 2>&1) && pass "$name: import: $out" || fail "$name: import: $out"
  else fail "$name: import: $(tail -3 $name-import.log)"; fi
}
train_case() {  # train_case NAME TRAIN_ARGS...: trains, then evaluates below 0.5 (predicting zero gives 1)
  local name=$1; shift
  "$FOURMI" train "${RUN[@]}" --set run.name=$name --set data.train=data/$name-train --set data.test=data/$name-test \
    --set train.eval_every=100 --set train.checkpoint_every=100 "$@" > $name-train.log 2>&1 \
    || { fail "$name: train: $(tail -3 $name-train.log)"; return; }
  "$FOURMI" eval "${RUN[@]}" --set run.name=$name --set data.train=data/$name-train --set data.test=data/$name-test \
    "$@" > $name-eval.log 2>&1 || { fail "$name: eval: $(tail -3 $name-eval.log)"; return; }
  err=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["test_rel_l2"])' runs/$name/eval.json)
  "$PY" -c "import sys; sys.exit(0 if $err < 0.5 else 1)" && pass "$name: trained and evaluated: test relative L2 $err" \
    || fail "$name: test relative L2 $err (>= 0.5)"
}

import_case pdebench src/pdebench_burgers.h5 'f["tensor"][i, 0][None]' 'f["tensor"][i, -1][None]' 32 -- \
  -c "$SRC/configs/import/pdebench-burgers1d.yaml" --set import.path=src/pdebench_burgers.h5 \
  --set import.n_train=32 --set import.n_test=8 --set import.shards=3
train_case pdebench --set data.sub=1 --set model.width=16 --set model.modes=12 --set model.layers=3 \
  --set model.projection_width=32 --set train.epochs=60 --set train.batch_size=8 --set data.normalize=gaussian

import_case darcy src/darcy_v5.mat 'f["coeff"][i][None]' 'f["sol"][i][None]' 32 -- \
  -c "$SRC/configs/import/fno-darcy.yaml" --set import.path=src/darcy_v5.mat --set 'import.test_path=""' \
  --set import.n_train=32 --set import.n_test=8 --set import.shards=2
train_case darcy --set data.sub=1 --set model.dim=2 --set model.modes=[8,8] --set model.width=12 --set model.layers=3 \
  --set model.projection_width=32 --set train.epochs=40 --set train.batch_size=8 --set data.normalize=gaussian

import_case pdebench-darcy src/pdebench_darcy.h5 'f["nu"][i][None]' 'f["tensor"][i]' 32 -- \
  -c "$SRC/configs/import/pdebench-darcy2d.yaml" --set import.path=src/pdebench_darcy.h5 \
  --set import.n_train=32 --set import.n_test=8
# Channels component-major: channel k is component k / 3, snapshot k % 3.
import_case pdebench-ns src/pdebench_ns.h5 \
  'np.transpose(f["velocity"][i, 0:3], (3, 0, 1, 2)).reshape(6, 16, 16)' \
  'np.transpose(f["velocity"][i, 3:6], (3, 0, 1, 2)).reshape(6, 16, 16)' 4 -- \
  -c "$SRC/configs/import/pdebench-ns2d.yaml" --set import.path=src/pdebench_ns.h5 \
  --set import.n_train=4 --set import.n_test=2 --set import.x.time=[0,3] --set import.y.time=[3,6]

# MATLAB v7.3 (HDF5 underneath, axes reversed on disk): u [N, s, s, 9] in MATLAB's order.
import_case ns73 src/ns_v73.mat 'np.transpose(f["u"][..., i], (2, 1, 0))[..., :3].transpose(2, 0, 1)' \
  'np.transpose(f["u"][..., i], (2, 1, 0))[..., 3:9].transpose(2, 0, 1)' 16 -- \
  -c "$SRC/configs/import/fno-navier-stokes.yaml" --set import.path=src/ns_v73.mat --set import.n_train=16 \
  --set import.n_test=8 --set import.test_start=16 --set import.x.time=[0,3] --set import.y.time=[3,0]
# As the FNO paper's Navier-Stokes FNO-2D: 3 snapshots in, one out per step, 6 steps rolled out.
train_case ns73 --set data.sub=1 --set model.dim=2 --set model.in_channels=3 --set model.out_channels=1 \
  --set model.rollout_steps=6 --set model.modes=[4,4] --set model.width=12 --set model.layers=3 \
  --set model.projection_width=32 --set train.epochs=40 --set train.batch_size=4

# As the FNO paper's FNO-3D: 3 snapshots as channels repeated along 6 times, the next 6 in space-time.
import_case ns3d src/ns_v73.mat \
  'np.repeat(np.transpose(f["u"][..., i], (2, 1, 0))[..., :3].transpose(2, 0, 1)[..., None], 6, axis=-1)' \
  'np.transpose(f["u"][..., i], (2, 1, 0))[None, ..., 3:9]' 16 -- \
  -c "$SRC/configs/import/fno-navier-stokes-3d.yaml" --set import.path=src/ns_v73.mat --set import.n_train=16 \
  --set import.n_test=8 --set import.test_start=16 --set import.x.time=[0,3] --set import.x.repeat=6 \
  --set import.y.time=[3,0]
train_case ns3d --set data.sub=1 --set model.dim=3 --set model.in_channels=3 --set model.modes=[4,4,3] \
  --set model.width=8 --set model.layers=2 --set model.projection_width=16 --set train.epochs=30 \
  --set train.batch_size=4 --set data.normalize=gaussian

# A user's HDF5 file, time last, a time window per side; space-time (FNO-3D) for y.
import_case generic src/generic.h5 'f["fields/w"][i, :, :, 0][None]' 'np.moveaxis(f["fields/w"][i, :, :, 1:9], -1, 0)' 16 -- \
  --set import.path=src/generic.h5 --set import.n_train=16 --set import.n_test=8 \
  --set import.x.name=fields/w --set import.x.axes=nxyt --set import.x.time=[0] \
  --set import.y.name=fields/w --set import.y.axes=nxyt --set import.y.time=[1,-1] --set import.y.time_as=channels
train_case generic --set data.sub=1 --set model.dim=2 --set model.out_channels=8 --set model.modes=[6,6] --set model.width=12 \
  --set model.layers=2 --set model.projection_width=32 --set train.epochs=40 --set train.batch_size=4 \
  --set data.normalize=gaussian

import_case npy src/npy 'f["inputs"][i]' 'f["targets"][i]' 20 -- \
  --set import.path=src/npy --set import.n_train=20 --set import.n_test=10 \
  --set import.x.name=inputs.npy --set import.x.axes=ncx --set import.y.name=targets.npy --set import.y.axes=ncx

# --- what a user gets wrong ----------------------------------------------------------------------
BASE=(--set import.path=src/generic.h5 --set import.n_train=16 --set import.n_test=8 --set import.out=data/bad
      --set import.x.name=fields/w --set import.x.axes=nxyt --set import.y.name=fields/w --set import.y.axes=nxyt)
expect_fail "import: a dataset the file does not hold" "src/generic.h5: no dataset 'fields/u'" \
  "$FOURMI" import "${RUN[@]}" "${BASE[@]}" --set import.x.name=fields/u
expect_fail "import: a MATLAB variable the file does not hold" "src/darcy_v5.mat: no variable 'coef'; the file holds: " \
  "$FOURMI" import "${RUN[@]}" -c "$SRC/configs/import/fno-darcy.yaml" --set import.path=src/darcy_v5.mat \
  --set 'import.test_path=""' --set import.n_train=32 --set import.n_test=8 --set import.x.name=coef
expect_fail "import: axes that do not match the array" "import.x.axes 'nxy' names 3 axes but the array has 4" \
  "$FOURMI" import "${RUN[@]}" "${BASE[@]}" --set import.x.axes=nxy
expect_fail "import: a time window outside the t axis" "import.y.time \[5,20\] selects snapshots \[5, 20) of a t axis of 10" \
  "$FOURMI" import "${RUN[@]}" "${BASE[@]}" --set import.y.time=[5,20]
expect_fail "import: test samples overlapping the training samples" "overlap the training samples" \
  "$FOURMI" import "${RUN[@]}" "${BASE[@]}" --set import.test_start=10
expect_fail "import: more samples than the source holds" "import.n_train is 100 but it holds 24 samples" \
  "$FOURMI" import "${RUN[@]}" "${BASE[@]}" --set import.n_train=100
expect_fail "import: a .mat file that is not one" "cannot open as a MATLAB file" \
  "$FOURMI" import "${RUN[@]}" "${BASE[@]}" --set import.format=mat
"$PY" -c "import numpy as np; a = np.load('src/npy/inputs.npy'); a[25, 0, 3] = np.nan; np.save('src/npy/nan.npy', a)"
expect_fail "import: NaN in the source" "src/npy/nan.npy: sample 25 contains NaN or Inf" \
  "$FOURMI" import "${RUN[@]}" --set import.path=src/npy --set import.n_train=20 --set import.n_test=10 \
  --set import.out=data/bad --set import.x.name=nan.npy --set import.x.axes=ncx --set import.y.name=targets.npy \
  --set import.y.axes=ncx
finish import
