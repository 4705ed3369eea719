# common.sh — sourced by every bench/gpu/*.sh script (not run on its own), from the repository root.
#
# What it does, in order:
#   - takes the script's first argument as OUT (created), where the script leaves its results;
#   - unpacks the carried Debian packages (.deps/*.deb: yaml-cpp, CLI11, nlohmann/json, fmt) into
#     /tmp/deps and sets the library path (docs/benchmarks.md says how to fetch them);
#   - keeps NVLink multicast off (NCCL_NVLS_ENABLE=0, TORCH_SYMM_MEM_DISABLE_MULTICAST=1,
#     NVSHMEM_DISABLE_NVLS=1) and lets Open MPI run as root;
#   - records the command, the machine and the date (COMMAND, MACHINE, DATE, GPUS) for the JSON;
#   - defines step (a timestamped log line), need_gpus, build_fourmi [extra targets], merge_json,
#     json_keys, and the datasets darcy256, darcy_data and burgers_data.
# Scratch files go to $W (/tmp/fourmi-bench, emptied first); only OUT is kept.
set -uo pipefail
REPO=$(pwd)
[ -f "$REPO/bench/gpu/common.sh" ] || { echo "run bench/gpu scripts from the repository root" >&2; exit 2; }
[ -n "${1:-}" ] || { echo "usage: bash $0 OUT [...] (OUT: where the results go)" >&2; exit 2; }
OUT=$(mkdir -p "$1" && cd "$1" && pwd) || exit 2
COMMAND="bash $0 $*"
W=/tmp/fourmi-bench
rm -rf "$W" && mkdir -p "$W/res"

export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export FOURMI_PYTHON=python3

step() { echo "== [$(date +%T)] $*"; }

ls "$REPO"/.deps/*.deb > /dev/null 2>&1 || { echo "no .deps/*.deb: see docs/benchmarks.md, 'Preparing a GPU run'" >&2; exit 2; }
mkdir -p /tmp/deps && for f in "$REPO"/.deps/*.deb; do dpkg -x "$f" /tmp/deps; done
export LD_LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}

GPUS=$(nvidia-smi -L | wc -l)
MACHINE="$GPUS x $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1), $(nproc) CPU cores, $(hostname)"
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "$COMMAND"
echo "$MACHINE, $DATE"

F=$REPO/build-gpu/bin/fourmi
export FOURMI=$F  # the binary launch/mpirun.sh starts
DP=$REPO/build-gpu/bin/fourmi-bench-dp
MPIRUN=(mpirun --allow-run-as-root --bind-to none -x NCCL_NVLS_ENABLE -x TORCH_SYMM_MEM_DISABLE_MULTICAST
        -x NVSHMEM_DISABLE_NVLS -x LD_LIBRARY_PATH)
TORCHRUN=(torchrun --standalone)
REFERENCE=$REPO/bench/reference/torch_fno.py

# need_gpus N: stops the script unless the machine has N GPUs.
need_gpus() {
  [ "$GPUS" -ge "$1" ] || { echo "$(basename "$0") needs $1 GPUs, this machine has $GPUS" >&2; exit 2; }
}

# Configures and builds build-gpu/ (fourmi and fourmi-bench-dp, plus any targets given); exits on failure.
build_fourmi() {
  local t0 prefix
  t0=$(date +%s)
  prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') || { echo "python3 has no torch" >&2; exit 1; }
  step "configure and build build-gpu/: fourmi fourmi-bench-dp $*"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DFOURMI_BUILD_TESTS=OFF -DTORCH_CUDA_ARCH_LIST=9.0 \
    -DCMAKE_PREFIX_PATH="$prefix;/tmp/deps/usr" > "$W/configure.log" 2>&1 || { tail -30 "$W/configure.log"; exit 1; }
  cmake --build build-gpu -j"$(nproc)" --target fourmi fourmi-bench-dp "$@" > "$W/build.log" 2>&1 \
    || { grep -B2 -A6 error "$W/build.log" | head -60; exit 1; }
  step "built in $(( $(date +%s) - t0 )) s"
}

# merge_json FILE DIR: every DIR/*.json as one object keyed by its file name, next to the command,
# machine, date and GPUs of this run.
merge_json() {
  python3 - "$1" "$2" "$COMMAND" "$MACHINE" "$DATE" <<'PY'
import glob, json, os, subprocess, sys
out, d, command, machine, date = sys.argv[1:]
gpus = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                      capture_output=True, text=True).stdout.strip().splitlines()
merged = {"command": command, "machine": machine, "date": date, "gpus": gpus}
for f in sorted(glob.glob(os.path.join(d, "*.json"))):
    merged[os.path.basename(f)[:-5]] = json.load(open(f))
with open(out, "w") as f:
    json.dump(merged, f, indent=1)
print("wrote", out)
PY
}

# json_keys SRC DST KEY...: the named top-level keys of the JSON file SRC, alone in DST (a single
# key: its value).
json_keys() {
  python3 - "$@" <<'PY'
import json, sys
src, dst, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
d = json.load(open(src))
json.dump(d[keys[0]] if len(keys) == 1 else {k: d[k] for k in keys}, open(dst, "w"), indent=1)
PY
}

# Darcy flow at 256^2 (512 + 32 samples) in $W/data/darcy256-{train,test}: the data of the FNO-2D
# configs. DARCY lists the --set options that point a run at it.
DARCY=(--set data.train="$W/data/darcy256-train" --set data.test="$W/data/darcy256-test" --set data.prefetch=8
       --set train.eval_every=1000 --set train.checkpoints=false --set run.progress=false)
darcy256() {
  [ -f "$W/data/darcy256-train/manifest.json" ] && return
  step "fourmi datagen darcy2d: 512 + 32 samples at 256^2"
  (cd "$W" && timeout 300 "$F" datagen --set datagen.pde=darcy2d --set datagen.out=data/darcy256 --set datagen.n_train=512 \
    --set datagen.n_test=32 --set datagen.shards=4 --set datagen.batch=128 --set datagen.darcy2d.resolution=256 \
    --set datagen.darcy2d.tol=1e-6 --set run.progress=false 2>&1 | tail -2)
}

# The FNO paper's Darcy dataset (configs/darcy2d.yaml: 1000 + 100 solves at 421² and the stored
# 85² level) in $W/data/darcy2d-{train,test}.
darcy_data() {
  [ -f "$W/data/darcy2d-train/manifest.json" ] && return
  step "fourmi datagen -c configs/darcy2d.yaml"
  (cd "$W" && timeout 200 "$F" datagen -c "$REPO/configs/darcy2d.yaml" --set run.progress=false 2>&1 | tail -1)
}

# The FNO paper's Burgers dataset (configs/burgers1d.yaml: 1000 + 200 solves at 8192 points and the
# stored 1024-point level) in $W/data/burgers1d-{train,test}.
burgers_data() {
  [ -f "$W/data/burgers1d-train/manifest.json" ] && return
  step "fourmi datagen -c configs/burgers1d.yaml"
  (cd "$W" && timeout 150 "$F" datagen -c "$REPO/configs/burgers1d.yaml" --set run.progress=false 2>&1 | tail -1)
}
