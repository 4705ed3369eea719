#!/usr/bin/env bash
# gpu-tests.sh — builds the test programs on a GPU machine and runs the cases that skip without a
# GPU (the truncated DFT against cuFFT in fp32 and TF32, the mode-mixing kernels, the CUDA-graph
# step against the eager one), then each program's full suite, then tests/e2e/test_ecosystem.sh on
# the GPU (predictions made on the GPU, reproduced by python/fourmi_torch on the CPU and the GPU).
#   bash tools/gpu-tests.sh            (from the repository root; .deps/*.deb carried, as for bench/gpu)
set -uo pipefail
[ -f tools/gpu-tests.sh ] || { echo "run from the repository root" >&2; exit 2; }
mkdir -p /tmp/deps && for f in .deps/*.deb; do dpkg -x "$f" /tmp/deps; done
export LD_LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') || exit 1
cmake -S . -B build-gpu-tests -G Ninja -DCMAKE_BUILD_TYPE=Release -DFOURMI_BUILD_TESTS=ON -DTORCH_CUDA_ARCH_LIST=9.0 \
  -DCMAKE_PREFIX_PATH="$prefix;/tmp/deps/usr" > /tmp/gpu-tests-configure.log 2>&1 || { tail -30 /tmp/gpu-tests-configure.log; exit 1; }
cmake --build build-gpu-tests -j"$(nproc)" --target test_models test_train fourmi > /tmp/gpu-tests-build.log 2>&1 \
  || { grep -B2 -A6 error /tmp/gpu-tests-build.log | head -60; exit 1; }
nvidia-smi -L
rc=0
for t in test_models test_train; do
  # every case's verdict (OK / SKIPPED / FAILED) and the totals
  build-gpu-tests/bin/$t > "/tmp/gpu-tests-$t.log" 2>&1 || rc=1
  grep -E '^\[ +(OK|SKIPPED|FAILED|PASSED) +\]' "/tmp/gpu-tests-$t.log"
done
FOURMI_E2E_DEVICE=cuda FOURMI_PYTHON=python3 FOURMI_SOURCE_DIR=$PWD bash tests/e2e/test_ecosystem.sh \
  build-gpu-tests/bin/fourmi || rc=1
exit $rc
