#!/usr/bin/env bash
# gpu_run.sh — one command for the GPU machine: build fourmi against that machine's LibTorch,
# run the demo on the GPU, then the data-parallel weak-scaling benchmark side by side with the
# PyTorch DDP reference (.deps/torch_fno_baseline.py, carried from shared/bench, not committed) at 1, 2, 4 GPUs.
#   bash bench/gpu_run.sh all|build|bench OUT_DIR [GPU counts...]
# (build = configure, build and run the demo; bench = the benchmarks, reusing build-gpu/)
# Needs .deps/ (Debian .debs of yaml-cpp, CLI11, nlohmann/json, fmt: see docs/benchmarks.md).
set -uo pipefail
PHASE=${1:-all}; shift || true
OUT_DIR=${1:-bench/local}; shift || true
COUNTS=${*:-1 2 4}
mkdir -p "$OUT_DIR"
W=/tmp/fourmi-gpu; mkdir -p $W   # intermediate files; OUT_DIR gets the merged results and the demo log
REPO=$(pwd)
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p /tmp/deps && for f in .deps/*.deb; do dpkg -x "$f" /tmp/deps; done
export LD_LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$W/gpus.txt"
if [ "$PHASE" != bench ]; then
t0=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DFOURMI_BUILD_TESTS=OFF -DTORCH_CUDA_ARCH_LIST=9.0 \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;/tmp/deps/usr" > "$W/configure.log" 2>&1 || { tail -30 "$W/configure.log"; exit 1; }
cmake --build build-gpu -j "$(nproc)" --target fourmi fourmi-bench-dp > "$W/build.log" 2>&1 || { grep -B2 -A6 error "$W/build.log" | head -60; exit 1; }
echo "build: $(( $(date +%s) - t0 )) s"

echo "== demo on the GPU"
( cd /tmp && rm -rf demo && mkdir demo && cd demo && F=$REPO/build-gpu/bin/fourmi &&
  $F datagen burgers1d && $F train && $F eval ) > "$OUT_DIR/demo_gpu.log" 2>&1
tail -8 "$OUT_DIR/demo_gpu.log"
fi
[ "$PHASE" = build ] && exit 0

echo "== data-parallel weak scaling: fourmi and DDP, same machine, same run"
MPIRUN=(mpirun --allow-run-as-root --bind-to none -x NCCL_NVLS_ENABLE -x LD_LIBRARY_PATH)
for n in $COUNTS; do
  "${MPIRUN[@]}" -np "$n" build-gpu/bin/fourmi-bench-dp --configs configs/fno2d-medium.yaml,configs/fno2d-large.yaml \
    --allreduce --json "$W/fourmi_dp_np$n.json" 2>&1 | grep -v "^\[" | tail -8
  torchrun --standalone --nproc_per_node="$n" .deps/torch_fno_baseline.py ddp --configs medium,large \
    --json "$W/ddp_np$n.json" 2>&1 | grep '^{' | tail -3
done
for n in $COUNTS; do
  [ "$n" -gt 1 ] || continue
  torchrun --standalone --nproc_per_node="$n" .deps/torch_fno_baseline.py allreduce --json "$W/nccl_allreduce_np$n.json" 2>&1 | grep '^{' | tail -5
done
python3 - "$W" "$OUT_DIR/gpu_results.json" <<'PY'
import glob, json, os, sys
w, out = sys.argv[1], sys.argv[2]
merged = {"gpus": open(os.path.join(w, "gpus.txt")).read().strip().splitlines()}
for f in sorted(glob.glob(os.path.join(w, "*.json"))):
    merged[os.path.basename(f)[:-5]] = json.load(open(f))
json.dump(merged, open(out, "w"), indent=1)
print("wrote", out)
PY
