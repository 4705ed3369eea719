#!/usr/bin/env bash
# gpu_profile_scaling.sh — the profiling, scaling, kernel and I/O measurements of the GPU machine.
# Each device command builds fourmi first (build outputs do not survive between machines), then runs
# one or more phases (comma-separated; one build for all), e.g.
#   bash bench/gpu_profile_scaling.sh final OUT           peaks, the `large` roofline profile, Nsight Compute on
#                                                          both mixing paths, the disk's read rate, bench io
#   bash bench/gpu_profile_scaling.sh dpmix,overhead,io OUT  weak scaling against DDP, the profiler's cost, the reader
# Phases: scaling io overhead dpchan mpbench modes data dp final mixncu mixbench dpmix ncumedium overhead2 overhead3 dpcta dpfinal overhead5 dpab dpzero dpzero2 dpctas zerocheck dpmin dpce dpce2 dpce3 dpce4 autocheck dpfinal7 dpfinal7b dpgrad dpsmall dpconfirm reviewcheck (see each block
# below and the table in docs/benchmarks.md). Everything lands in OUT/results-PHASES.tar.gz.
set -uo pipefail
PHASES=${1:?phase[,phase...]}; OUT_DIR=$(mkdir -p "${2:?OUT dir}" && cd "$2" && pwd)
REPO=$(pwd); W=/tmp/fourmi-run; rm -rf $W; mkdir -p $W/res
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p /tmp/deps && for f in .deps/*.deb; do dpkg -x "$f" /tmp/deps; done
export LD_LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export FOURMI_PYTHON=python3
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee $W/res/gpus.txt
step() { echo "== [$(date +%T)] $*"; }
t0=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DFOURMI_BUILD_TESTS=ON -DTORCH_CUDA_ARCH_LIST=9.0 \
  -DFOURMI_PYTHON=python3 -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;/tmp/deps/usr" > $W/configure.log 2>&1 || { tail -30 $W/configure.log; exit 1; }
cmake --build build-gpu -j "$(nproc)" --target fourmi fourmi-bench-mp fourmi-bench-dp fourmi-bench-mix test_models > $W/build.log 2>&1 || { grep -B2 -A6 error $W/build.log | head -60; exit 1; }
step "build: $(( $(date +%s) - t0 )) s"
F=$REPO/build-gpu/bin/fourmi
export FOURMI=$F
cd $W
finish() { cd $W && tar czf "$OUT_DIR/results-${PHASES//,/-}.tar.gz" res && ls -la res | tail -40; }
trap finish EXIT
# Darcy at 256^2 for the FNO-2D configs, generated once per command.
darcy256() {
  [ -f data/darcy256-train/manifest.json ] && return
  timeout 200 $F datagen --set datagen.pde=darcy2d --set datagen.out=data/darcy256 --set datagen.n_train=512 --set datagen.n_test=32 \
    --set datagen.shards=4 --set datagen.batch=128 --set datagen.darcy2d.resolution=256 --set datagen.darcy2d.tol=1e-6 \
    --set run.progress=false 2>&1 | tail -2 | tee -a res/datagen_darcy256.log
}
peaks() {
  step "fourmi bench peak"
  timeout 120 $F bench peak --out runs/peaks-cuda.json 2>&1 | tail -7 | tee res/peak.log
  cp runs/peaks-cuda.json res/ 2>/dev/null
}
# Options for FNO-2D `large` runs on the Darcy 256^2 data.
L=(--set data.train=data/darcy256-train --set data.test=data/darcy256-test --set data.prefetch=8
   --set train.eval_every=1000 --set train.checkpoints=false --set run.progress=false --set profile.peaks=$W/runs/peaks-cuda.json)
# The profiled `large` on one GPU, every op in every profiled step, and its report (roofline chart).
profile_large() {
  step "profiled FNO-2D large, 1 GPU (every op every profiled step)"
  timeout 120 $F train -c $REPO/configs/fno2d-large.yaml "${L[@]}" --set train.epochs=2 --set profile.enabled=true \
    --set profile.sample_ops=false --set profile.warmup_steps=5 --set profile.steps=20 --set run.name=large-1gpu 2>&1 \
    | grep -E "profile:|error" | tee -a res/profile_large.log
  $F report runs/large-1gpu --out res/profile-large 2>&1 | tail -2
  cp -r runs/large-1gpu/profile res/profile-large/rank-files
}
# The Burgers paper dataset (BURGERS_TRAIN / BURGERS_TEST samples, default 1000 / 200), once per command.
burgers_data() {
  [ -f data/burgers1d-train/manifest.json ] || timeout 150 $F datagen -c $REPO/configs/burgers1d.yaml --set run.progress=false \
    --set datagen.n_train=${BURGERS_TRAIN:-1000} --set datagen.n_test=${BURGERS_TEST:-200} 2>&1 | tail -1
}
# Burgers, 4 epochs, on 1 rank and on every GPU with the defaults: the test rel L2 must agree. $1 names
# the runs and the logs (res/$1check_<n>.log).
burgers_check() {
  local g=$(nvidia-smi -L | wc -l)
  BURGERS_TRAIN=400 BURGERS_TEST=40 burgers_data
  local B=(-c $REPO/configs/burgers1d.yaml --set train.batch_size=40 --set train.eval_every=2 --set train.epochs=4 --set run.progress=false)
  for n in 1 $g; do
    step "Burgers, $n rank(s), defaults"
    timeout 120 $REPO/launch/mpirun.sh -n $n train "${B[@]}" --set run.name=$1-$n 2>&1 | grep -E "copy engines|test rel|rror" | tee res/$1check_$n.log
  done
}
# The profiler's cost on the launch-bound Burgers step, 4 GPUs, default profiling: $1 run name, $2 log
# (its "profile:" lines, prefixed by $3), then further --set options; rank 0's profile into res/$1.json.
burgers_overhead_run() {
  local name=$1 log=$2 prefix=$3; shift 3
  timeout 100 $REPO/launch/mpirun.sh -n 4 train -c $REPO/configs/burgers1d.yaml --set train.epochs=40 --set train.batch_size=80 \
    --set train.eval_every=1000 --set train.checkpoints=false --set run.progress=false --set profile.enabled=true \
    --set run.name=$name "$@" 2>&1 | grep "profile:" | sed "s/^/$prefix/" | tee -a $log
  cp runs/$name/profile/rank-00000.json res/$name.json
}
# The profiler's cost on FNO-2D large, 1 GPU, default profiling; $1: log.
large_overhead_run() {
  darcy256
  step "FNO-2D large, 1 GPU, default profiling"
  timeout 100 $F train -c $REPO/configs/fno2d-large.yaml "${L[@]}" --set train.epochs=8 --set profile.enabled=true \
    --set run.name=large-oh 2>&1 | grep "profile:" | tee -a $1
  cp runs/large-oh/profile/rank-00000.json res/large-oh.json
}
# Nsight Compute's FLOPs of the GEMM-like kernels of one training step + one evaluation forward
# (TF32 off: GEMMs on the FMA pipes) against the profile's analytic count. $1: run.mix_kernel;
# $2: config name (default fno2d-large), $3: per-GPU batch (default 16), then further --set options.
ncu_compare() {
  local mk=$1 cfg=${2:-fno2d-large} batch=${3:-16}; shift $(( $# < 3 ? $# : 3 ))
  local tag=$mk; [ $cfg = fno2d-large ] || tag=${mk}_$cfg
  step "Nsight Compute: GEMM-like kernel FLOPs, $cfg, batch $batch, run.mix_kernel=$mk"
  local NL=(-c $REPO/configs/$cfg.yaml "${L[@]}" --set run.tf32=false --set data.n_train=$batch --set data.n_test=$batch
            --set train.epochs=1 --set train.batch_size=$batch --set data.shuffle=false --set run.mix_kernel=$mk "$@")
  timeout 100 $F train "${NL[@]}" --set run.name=ncu-ref-$tag --set profile.enabled=true --set profile.sample_ops=false \
    --set profile.warmup_steps=0 --set profile.steps=1 > res/ncu_ref_$tag.log 2>&1
  cp runs/ncu-ref-$tag/profile/rank-00000.json res/ncu_ref_profile_$tag.json
  timeout 200 ncu --target-processes all -k 'regex:gemm|Gemm|GEMM|cutlass|xmma|gemv' \
    --metrics smsp__sass_thread_inst_executed_op_fadd_pred_on.sum,smsp__sass_thread_inst_executed_op_fmul_pred_on.sum,smsp__sass_thread_inst_executed_op_ffma_pred_on.sum \
    --csv --page raw $F train "${NL[@]}" --set profile.enabled=false --set run.name=ncu-run-$tag > res/ncu_raw_$tag.csv 2> res/ncu_stderr_$tag.log
  python3 $REPO/tools/ncu_gemm_flops.py res/ncu_raw_$tag.csv res/ncu_ref_profile_$tag.json --out res/ncu_gemm_flops_mix$tag.json \
    --device "$(head -1 res/gpus.txt)" --config "configs/$cfg.yaml, batch $batch, $* TF32 off (GEMMs on the FMA pipes), run.mix_kernel=$mk" \
    --command "bash bench/gpu_profile_scaling.sh $PHASE \$OUT (the 'Nsight Compute' step)" 2>&1 | tee -a res/ncu_summary.txt
}
mode_mix_test() {
  step "GPU tests: the mode-mixing kernel (every variant) against cuBLAS's batched GEMM"
  $REPO/build-gpu/bin/test_models --gtest_filter='*ModeMix*' 2>&1 | tail -3 | tee res/test_mode_mix.log
}
DP=$REPO/build-gpu/bin/fourmi-bench-dp
MPIRUN=(mpirun --allow-run-as-root --bind-to none -x NCCL_NVLS_ENABLE -x LD_LIBRARY_PATH -x NCCL_MAX_NCHANNELS -x NCCL_PROTO)
CFGS=$REPO/configs/fno2d-medium.yaml,$REPO/configs/fno2d-large.yaml
# fourmi-bench-dp (medium and large) at each rank count of $3 (default 1 2 4) with override $1 (and
# any further arguments), into res/dp_fourmi_np<n>_$2.json; with SWEEP=1 the 4-rank run also sweeps
# all-reduce sizes.
dp_sweep() {
  local set=$1 tag=$2 counts=${3:-1 2 4}; shift $(( $# < 3 ? $# : 3 ))
  for n in $counts; do
    step "fourmi np $n, $set $*"
    local extra=(); [ $n = 4 ] && [ "${SWEEP:-0}" = 1 ] && extra=(--allreduce)
    timeout 120 "${MPIRUN[@]}" -np $n $DP --configs $CFGS --set "$set" "$@" "${extra[@]}" --json $W/res/dp_fourmi_np${n}_$tag.json 2>&1 \
      | grep '^{' | cut -c1-220
  done
}
# The PyTorch DDP reference at 1, 2, 4 GPUs into res/ddp_np<n>.json (suffix $1), and raw NCCL at 4.
ddp_sweep() {
  for n in ${DDP_COUNTS:-1 2 4}; do
    step "DDP np $n"
    timeout 150 torchrun --standalone --nproc_per_node=$n $REPO/.deps/torch_fno_baseline.py ddp --configs medium,large \
      --json $W/res/ddp_np$n${1:-}.json 2>&1 | grep '^{' | tail -2 | cut -c1-300
  done
}
# fourmi-bench-mp on FNO-3D (width 64, 24 modes, 64^3) at M = 1, 2, 4 into res/mode_parallel.json.
MP=$REPO/build-gpu/bin/fourmi-bench-mp
mp_sweep() {
  for m in 1 2 4; do
    step "FNO-3D width 64, 24 modes, 64^3: M = $m (data 1)"
    timeout 150 "${MPIRUN[@]}" -np $m $MP -c $REPO/configs/fno3d.yaml --set parallel.modes=$m --label "fno3d-w64-m24-64^3" \
      --per-replica 4 --grid 64 --json $W/res/mode_parallel.json > res/mp_$m.log 2>&1
    grep -vE "^\| " res/mp_$m.log | tail -4 | cut -c1-600
  done
}
# The FNO-3D showcase (width 96, 32 modes) at M = 4: memory and step time.
mp_showcase() {
  step "showcase: FNO-3D width 96, 32 modes, M = 4, memory and step time"
  timeout 150 "${MPIRUN[@]}" -np 4 $MP -c $REPO/configs/fno3d-showcase.yaml --label "fno3d-w96-m32-64^3 (showcase)" \
    --per-replica 2 --grid 64 --steps 5 --json $W/res/mode_parallel.json > res/mp_showcase.log 2>&1
  grep -vE "^\| " res/mp_showcase.log | tail -4 | cut -c1-600
}
raw_nccl() {
  step "raw NCCL all-reduce (torch.distributed), 4 GPUs"
  timeout 120 torchrun --standalone --nproc_per_node=4 $REPO/.deps/torch_fno_baseline.py allreduce --json $W/res/nccl_allreduce_np4.json \
    2>&1 | grep '^{' | tail -5 | cut -c1-200
}
for PHASE in ${PHASES//,/ }; do

if [ "$PHASE" = scaling ]; then
  peaks
  darcy256
  profile_large
  ncu_compare false
  for mode in weak strong; do
    step "$mode scaling sweep, FNO-2D large, 1 2 4 GPUs"
    [ $mode = weak ] && B=16 || B=64
    timeout 200 $REPO/launch/scaling --config $REPO/configs/fno2d-large.yaml --ranks 1,2,4 --mode $mode --batch $B \
      --out sweep-$mode "${L[@]}" \
      --set train.epochs=4 --set profile.warmup_steps=5 --set profile.steps=10 2>&1 | tail -6
    cp -r sweep-$mode/report res/scaling-$mode
    cp sweep-$mode/logs/*.log res/scaling-$mode/ 2>/dev/null
  done
fi

if [ "$PHASE" = io ]; then
  step "Burgers, paper setting (1000 + 200 samples at 8192 points, and the stored 1024-point level)"
  timeout 150 $F datagen -c $REPO/configs/burgers1d.yaml --set run.progress=false 2>&1 | tail -2 | tee res/datagen_burgers_io.log
  du -sh data/burgers1d-train data/burgers1d-train/sub8 | tee res/burgers_sizes.txt
  step "the disk's direct-I/O read rate over the full-resolution shard files (8 readers at once, page cache bypassed)"
  d0=$(date +%s.%N); for f in data/burgers1d-train/*.h5; do dd if=$f of=/dev/null bs=8M iflag=direct 2>/dev/null & done; wait; d1=$(date +%s.%N)
  bytes=$(cat data/burgers1d-train/*.h5 | wc -c)
  python3 -c "print(f'direct read: {$bytes/1e9:.3f} GB in {$d1-$d0:.3f} s = {$bytes/1e9/($d1-$d0):.2f} GB/s')" | tee res/disk_read.txt
  for levels in true false; do
    for n in 1 4; do
      step "fourmi bench io, $n rank(s), data.stored_levels=$levels"
      timeout 120 $REPO/launch/mpirun.sh -n $n bench io -c $REPO/configs/burgers1d.yaml --set data.stored_levels=$levels \
        --out $W/res/io.json 2>&1 | grep -E "bench io|cache:" | tail -3
    done
  done
  step "fourmi train, Burgers paper setting, 4 GPUs, profiled (data wait in the step split)"
  timeout 120 $REPO/launch/mpirun.sh -n 4 train -c $REPO/configs/burgers1d.yaml --set train.epochs=20 --set train.batch_size=80 \
    --set run.progress=false --set profile.enabled=true --set run.name=burgers-4gpu 2>&1 | grep -E "profile:|test rel" | tail -3
  cp runs/burgers-4gpu/profile/rank-00000.json res/burgers-4gpu-rank0.json 2>/dev/null
fi

if [ "$PHASE" = overhead2 ]; then
  # The profiler's cost with the default sampling (80 profiled steps alternating with 80 plain ones):
  # the launch-bound Burgers step at 4 GPUs OVERHEAD_REPS times (default 3), and FNO-2D large on one GPU.
  burgers_data
  for rep in $(seq 1 ${OVERHEAD_REPS:-3}); do
    step "Burgers (paper FNO-1D), 4 GPUs, default profiling, repetition $rep"
    burgers_overhead_run burgers-oh$rep res/overhead2.log ""
  done
  large_overhead_run res/overhead2.log
fi

if [ "$PHASE" = overhead3 ]; then
  # The host costs of the CUDA calls a profiler adds (bench/probe_host_costs.cu). In session 5 this phase
  # also ran the Burgers step under temporary profiler switches (see session5_diagnosis in
  # bench/results/profiler_overhead_h200.json); the A/A one became profile.control_run (phase overhead5).
  step "probe: host costs of event records, waits and launches"
  nvcc -O2 -o $W/probe $REPO/bench/probe_host_costs.cu && $W/probe | tee res/host_costs.json
fi

if [ "$PHASE" = dpfinal ]; then
  # Weak scaling with the defaults against DDP and raw NCCL, all in one command:
  # bench/results/dp_scaling.json (session 6: the sharded optimizer; session 5: one Adam update after
  # all all-reduced buckets).
  SWEEP=1 dp_sweep parallel.nccl_cta_policy=default default
  raw_nccl
  ddp_sweep
fi

if [ "$PHASE" = dpfinal7 ]; then
  # Session 7: weak scaling with the defaults (copy-engine gathers, dedicated stream) at 1, 2, 4 GPUs
  # with the all-reduce sweep, the session-6 path (legacy stream, kernel gathers) at 1 and 4, the
  # defaults at 4 again, raw NCCL and DDP, in one command: bench/results/dp_scaling.json.
  SWEEP=1 dp_sweep run.seed=0 default
  dp_sweep run.compute_stream=legacy legacy_kernel "1 4" --set parallel.copy_engine_gather=false
  dp_sweep run.seed=0 default_b 4
  raw_nccl
  ddp_sweep
fi

if [ "$PHASE" = dpfinal7b ]; then
  # Session 7, last: the gradients' reduce-scatters on the copy engines too (the defaults now).
  # Burgers on 1 rank and on every GPU (test rel L2 must agree); weak scaling with the defaults at
  # 1, 2, 4 with the all-reduce sweep; at 4, reduce-scatters on NCCL's kernels, then the defaults
  # again; raw NCCL; DDP. bench/results/dp_scaling.json.
  g=$(nvidia-smi -L | wc -l)
  burgers_check ce
  SWEEP=1 dp_sweep run.seed=0 default
  dp_sweep parallel.copy_engine_reduce_scatter=false rs_kernel $g
  dp_sweep run.seed=0 default_b $g
  raw_nccl
  ddp_sweep
fi

if [ "$PHASE" = dpgrad ]; then
  # Session 8: the spectral weights' gradients written by backward into their buckets
  # (parallel.grad_into_bucket, on by default) instead of copied there. GPU tests of the mixing; Burgers
  # on 1 rank and on every GPU (test rel L2 must agree); steady-state timelines of medium and large at
  # 1 and all GPUs (res/timeline_np<n>/); at all GPUs the copy against the default, twice, interleaved;
  # then weak scaling with the defaults at 1, 2, 4 with the all-reduce sweep, raw NCCL and DDP:
  # bench/results/dp_scaling.json.
  g=$(nvidia-smi -L | wc -l)
  mode_mix_test
  burgers_check grad
  for n in 1 $g; do
    mkdir -p $W/res/timeline_np$n
    dp_sweep run.seed=0 timeline "$n" --timeline 40 --timeline-dir $W/res/timeline_np$n
  done
  for rep in a b; do
    dp_sweep parallel.grad_into_bucket=false copied_$rep $g
    dp_sweep parallel.grad_into_bucket=true into_$rep $g
  done
  SWEEP=1 dp_sweep run.seed=0 default
  raw_nccl
  ddp_sweep
fi

if [ "$PHASE" = dpsmall ]; then
  # Session 8, after dpgrad: buckets under 1 MB all-reduced on NCCL's kernels when the collectives run
  # on the copy engines (parallel.shard_min_mb: auto; dpgrad's timelines showed 20-160 us per copy-engine
  # collective on the pointwise layers' 1-50 KB buckets). Burgers on 1 rank and on every GPU; a
  # timeline at all GPUs; at all GPUs every bucket sharded (0) against auto, twice, interleaved; then
  # weak scaling with the defaults at 1, 2, 4 with the all-reduce sweep, the defaults at 1 and 4 again,
  # raw NCCL and DDP: bench/results/dp_scaling.json.
  g=$(nvidia-smi -L | wc -l)
  burgers_check small
  mkdir -p $W/res/timeline_np$g
  dp_sweep run.seed=0 timeline "$g" --timeline 40 --timeline-dir $W/res/timeline_np$g
  for rep in a b; do
    dp_sweep parallel.shard_min_mb=0 allsharded_$rep $g
    dp_sweep parallel.shard_min_mb=auto auto_$rep $g
  done
  SWEEP=1 dp_sweep run.seed=0 default
  dp_sweep run.seed=0 default_b "1 $g"
  raw_nccl
  ddp_sweep
fi

if [ "$PHASE" = dpconfirm ]; then
  # Session 8, last: a repeat of dpsmall's weak-scaling sweep on a fresh machine with the same code, to
  # see how far the 4-GPU efficiency moves between commands: the defaults at 1, 2, 4 GPUs twice
  # (1, 2, 4, then 1, 2, 4), and DDP.
  dp_sweep run.seed=0 confirm
  dp_sweep run.seed=0 confirm_b
  ddp_sweep
fi

if [ "$PHASE" = reviewcheck ]; then
  # Session 8, after the final review's commits (behaviour unchanged): Burgers on 1 rank and on every
  # GPU, and the weak-scaling step with the defaults at 1 and every GPU.
  g=$(nvidia-smi -L | wc -l)
  burgers_check review
  dp_sweep run.seed=0 review "1 $g"
fi

if [ "$PHASE" = dpab ]; then
  # Weak scaling with the defaults against DDP and raw NCCL (bench/results/dp_scaling.json), and at
  # 4 GPUs the per-bucket update against one update after all buckets, twice, interleaved (session 5).
  # (Since session 6 both need parallel.shard_optimizer=false.)
  SWEEP=1 dp_sweep parallel.update_per_bucket=true default "1 2 4" --set parallel.shard_optimizer=false
  dp_sweep parallel.update_per_bucket=false onepass 4 --set parallel.shard_optimizer=false
  dp_sweep parallel.update_per_bucket=true default_b 4 --set parallel.shard_optimizer=false
  dp_sweep parallel.update_per_bucket=false onepass_b 4 --set parallel.shard_optimizer=false
  raw_nccl
  ddp_sweep
fi

if [ "$PHASE" = dpzero ]; then
  # Weak scaling with the sharded optimizer (parallel.shard_optimizer, ZeRO stage 1) against the
  # all-reduce path, DDP and raw NCCL, all in one command (session 6): both paths at 2 and 4 GPUs
  # twice, interleaved; 1 GPU once (no reducer there, so the paths are the same code).
  SWEEP=1 dp_sweep parallel.shard_optimizer=true zero
  dp_sweep parallel.shard_optimizer=false allreduce "2 4"
  dp_sweep parallel.shard_optimizer=true zero_b "2 4"
  dp_sweep parallel.shard_optimizer=false allreduce_b "2 4"
  raw_nccl
  ddp_sweep
fi

if [ "$PHASE" = dpzero2 ]; then
  # dpzero after the sharded update became two fused launches, plus both paths with NCCL held to 16
  # channels (fewer SMs taken from the overlapped backward and forward) at 4 GPUs (session 6).
  SWEEP=1 dp_sweep parallel.shard_optimizer=true zero
  dp_sweep parallel.shard_optimizer=false allreduce "2 4"
  NCCL_MAX_NCHANNELS=16 dp_sweep parallel.shard_optimizer=true zero_ch16 4
  dp_sweep parallel.shard_optimizer=true zero_b "2 4"
  dp_sweep parallel.shard_optimizer=false allreduce_b "2 4"
  NCCL_MAX_NCHANNELS=16 dp_sweep parallel.shard_optimizer=false allreduce_ch16 4
  raw_nccl
  ddp_sweep
fi

if [ "$PHASE" = dpctas ]; then
  # The sharded optimizer with NCCL's CTAs per collective capped (parallel.nccl_max_ctas) against
  # NCCL's choice, with the all-reduce sweep through each setting, DDP and raw NCCL (session 6).
  SWEEP=1 dp_sweep parallel.shard_optimizer=true zero
  SWEEP=1 dp_sweep parallel.nccl_max_ctas=16 zero_ctas16 "2 4" --set parallel.shard_optimizer=true
  dp_sweep parallel.nccl_max_ctas=8 zero_ctas8 4 --set parallel.shard_optimizer=true
  dp_sweep parallel.shard_optimizer=true zero_b 4
  dp_sweep parallel.nccl_max_ctas=16 zero_ctas16_b 4 --set parallel.shard_optimizer=true
  dp_sweep parallel.nccl_max_ctas=8 zero_ctas8_b 4 --set parallel.shard_optimizer=true
  raw_nccl
  ddp_sweep
fi

if [ "$PHASE" = dpmin ]; then
  # Buckets under 1 MB all-reduced (parallel.shard_min_mb=1; the default then) against every bucket
  # sharded (shard_min_mb=0, the default now), at the machine's GPU count, twice, interleaved; on 4
  # GPUs also 1, 2 and 4 with DDP and raw NCCL (session 6; it ran on 2 GPUs).
  g=$(nvidia-smi -L | wc -l); counts="1 2 4"; [ $g -lt 4 ] && counts="1 2"
  SWEEP=1 dp_sweep parallel.shard_min_mb=1 default "$counts"
  dp_sweep parallel.shard_min_mb=0 allsharded $g
  dp_sweep parallel.shard_min_mb=1 default_b $g
  dp_sweep parallel.shard_min_mb=0 allsharded_b $g
  [ $g -ge 4 ] && raw_nccl
  [ $g -ge 4 ] && ddp_sweep
fi

if [ "$PHASE" = dpce ]; then
  # The parameters' all-gathers on the copy engines (parallel.copy_engine_gather, session 7) against
  # NCCL's kernels, at the machine's GPU count: in-place all-gather times over the gather buffer
  # (once with NCCL's INFO log, kept); Burgers end to end on 1 rank and on all GPUs with each (test
  # rel L2 lines must agree); then the weak-scaling step, interleaved twice, with DDP beside it.
  g=$(nvidia-smi -L | wc -l)
  for ce in false true; do
    step "in-place all-gather over the gather buffer, $g GPUs, copy_engine_gather=$ce"
    NCCL_DEBUG=INFO timeout 90 "${MPIRUN[@]}" -x NCCL_DEBUG -np $g $DP --configs $REPO/configs/fno2d-medium.yaml --warmup 1 --steps 2 \
      --set parallel.copy_engine_gather=$ce --allgather --json $W/res/allgather_ce$ce.json > res/allgather_ce$ce.log 2>&1
    grep -E '^\{"bytes|rror' res/allgather_ce$ce.log | cut -c1-200
    grep -iE 'copy engine|symmetric|window|CTAPolicy|NVLS|cumem' res/allgather_ce$ce.log | sort | uniq -c | sort -rn | head -8 | cut -c1-200
  done
  BURGERS_TRAIN=400 BURGERS_TEST=40 burgers_data
  B=(-c $REPO/configs/burgers1d.yaml --set train.batch_size=40 --set train.eval_every=2 --set train.epochs=4 --set run.progress=false)
  for run in "1 false" "$g false" "$g true"; do
    set -- $run
    step "Burgers, $1 rank(s), copy_engine_gather=$2"
    timeout 120 $REPO/launch/mpirun.sh -n $1 train "${B[@]}" --set parallel.copy_engine_gather=$2 --set run.name=ce-$1-$2 2>&1 \
      | grep -E "test rel|rror" | tee res/cecheck_$1_$2.log
  done
  dp_sweep parallel.copy_engine_gather=false kernel "1 $g"
  dp_sweep parallel.copy_engine_gather=true ce $g
  dp_sweep parallel.copy_engine_gather=false kernel_b $g
  dp_sweep parallel.copy_engine_gather=true ce_b $g
  DDP_COUNTS="1 $g" ddp_sweep
fi

if [ "$PHASE" = dpce2 ]; then
  # Why copy-engine gathers slowed the step (session 7): the host's time in one all-gather call
  # behind queued work, each way; then the step, each way, on the legacy default stream and on a
  # non-blocking stream (--side-stream), next to a CTA cap of 8; at the machine's GPU count.
  g=$(nvidia-smi -L | wc -l)
  for ce in false true; do
    step "in-place all-gather over the gather buffer, $g GPUs, copy_engine_gather=$ce"
    timeout 90 "${MPIRUN[@]}" -np $g $DP --configs $REPO/configs/fno2d-medium.yaml --warmup 1 --steps 2 \
      --set parallel.copy_engine_gather=$ce --allgather --json $W/res/allgather2_ce$ce.json 2>&1 | grep -E '^\{"algbw|rror' | cut -c1-200
  done
  dp_sweep parallel.copy_engine_gather=false kernel "1 $g"
  dp_sweep parallel.copy_engine_gather=true ce $g
  dp_sweep parallel.copy_engine_gather=false kernel_side "1 $g" --side-stream
  dp_sweep parallel.copy_engine_gather=true ce_side $g --side-stream
  dp_sweep parallel.nccl_max_ctas=8 ctas8 $g
  dp_sweep parallel.copy_engine_gather=false kernel_b $g
fi

if [ "$PHASE" = dpce3 ]; then
  # Session 7: copy-engine gathers with the compute on a dedicated non-blocking stream
  # (run.compute_stream), end to end (Burgers test rel L2 on 1 rank and on all GPUs each way), then
  # the step, each combination, twice, interleaved, and with CUDA_DEVICE_MAX_CONNECTIONS=32.
  g=$(nvidia-smi -L | wc -l)
  BURGERS_TRAIN=400 BURGERS_TEST=40 burgers_data
  B=(-c $REPO/configs/burgers1d.yaml --set train.batch_size=40 --set train.eval_every=2 --set train.epochs=4 --set run.progress=false)
  for run in "1 legacy false" "$g dedicated true" "$g dedicated false" "$g legacy true"; do
    set -- $run
    step "Burgers, $1 rank(s), run.compute_stream=$2, copy_engine_gather=$3"
    timeout 120 $REPO/launch/mpirun.sh -n $1 train "${B[@]}" --set run.compute_stream=$2 --set parallel.copy_engine_gather=$3 \
      --set run.name=ce-$1-$2-$3 2>&1 | grep -E "test rel|rror" | tee res/cecheck_$1_$2_$3.log
  done
  dp_sweep run.compute_stream=legacy legacy_kernel "1 $g"
  dp_sweep run.compute_stream=dedicated dedicated_kernel "1 $g"
  for rep in a b; do
    dp_sweep parallel.copy_engine_gather=true dedicated_ce_$rep $g --set run.compute_stream=dedicated
    dp_sweep parallel.copy_engine_gather=false legacy_kernel_$rep $g
    dp_sweep parallel.copy_engine_gather=false dedicated_kernel_$rep $g --set run.compute_stream=dedicated
  done
  MPIRUN+=(-x CUDA_DEVICE_MAX_CONNECTIONS)
  export CUDA_DEVICE_MAX_CONNECTIONS=32
  dp_sweep parallel.copy_engine_gather=true conn32_dedicated_ce $g --set run.compute_stream=dedicated
  dp_sweep parallel.copy_engine_gather=false conn32_dedicated_kernel $g --set run.compute_stream=dedicated
  dp_sweep parallel.copy_engine_gather=false conn32_legacy_kernel $g
  unset CUDA_DEVICE_MAX_CONNECTIONS
fi

if [ "$PHASE" = dpce4 ]; then
  # Session 7: copy-engine gathers on the dedicated stream with NCCL's CTAs capped for the
  # reduce-scatters (8, 4), and with a normal-priority communication stream, twice where it
  # matters, interleaved, at the machine's GPU count; DDP beside it.
  g=$(nvidia-smi -L | wc -l)
  D=(--set run.compute_stream=dedicated --set parallel.copy_engine_gather=true)
  dp_sweep run.compute_stream=dedicated dedicated "1"
  dp_sweep run.compute_stream=legacy legacy "1"
  for rep in a b; do
    dp_sweep parallel.nccl_max_ctas=0 dce_$rep $g "${D[@]}"
    dp_sweep parallel.nccl_max_ctas=8 dce_ctas8_$rep $g "${D[@]}"
  done
  dp_sweep parallel.nccl_max_ctas=4 dce_ctas4 $g "${D[@]}"
  dp_sweep parallel.comm_priority=normal dce_normalprio $g "${D[@]}"
  dp_sweep parallel.comm_priority=normal dedicated_kernel_normalprio $g --set run.compute_stream=dedicated
  dp_sweep parallel.nccl_max_ctas=8 legacy_kernel_ctas8 $g
  dp_sweep parallel.nccl_max_ctas=0 legacy_kernel $g
  DDP_COUNTS="1 $g" ddp_sweep
fi

if [ "$PHASE" = autocheck ]; then
  # Session 7's defaults (run.compute_stream=auto, parallel.copy_engine_gather=auto) on the GPU
  # paths they change: Burgers on all GPUs, profiled, with its report; FNO-2D large on one GPU,
  # profiled; then the weak-scaling step at 1 and all GPUs next to DDP.
  g=$(nvidia-smi -L | wc -l)
  BURGERS_TRAIN=400 BURGERS_TEST=40 burgers_data
  step "Burgers, $g ranks, defaults, profiled"
  timeout 120 $REPO/launch/mpirun.sh -n $g train -c $REPO/configs/burgers1d.yaml --set train.batch_size=40 --set train.epochs=6 \
    --set run.progress=false --set profile.enabled=true --set profile.warmup_steps=5 --set profile.steps=20 --set run.name=auto-burgers 2>&1 \
    | grep -E "copy engines|profile:|test rel|rror" | tee res/autocheck_burgers.log
  $F report runs/auto-burgers --out res/auto-burgers-report 2>&1 | tail -2
  darcy256
  step "FNO-2D large, 1 GPU, defaults, profiled"
  timeout 120 $F train -c $REPO/configs/fno2d-large.yaml "${L[@]}" --set train.epochs=2 --set profile.enabled=true \
    --set profile.warmup_steps=5 --set profile.steps=10 --set run.name=auto-large 2>&1 | grep -E "profile:|test rel|rror" | tee res/autocheck_large.log
  dp_sweep run.seed=0 defaults "1 $g"
  dp_sweep run.compute_stream=legacy legacy_kernel "1 $g" --set parallel.copy_engine_gather=false
  dp_sweep run.seed=0 defaults_b "$g"
  DDP_COUNTS="1 $g" ddp_sweep
fi

if [ "$PHASE" = zerocheck ]; then
  # The sharded optimizer end to end on GPUs with NCCL (session 6): Burgers at 1 rank and at N ranks
  # (all GPUs) for 4 epochs, and at N ranks for 2 epochs, checkpointed, then resumed to 4; the test
  # rel L2 lines of the three must agree.
  BURGERS_TRAIN=400 BURGERS_TEST=40 burgers_data
  n=$(nvidia-smi -L | wc -l)
  B=(-c $REPO/configs/burgers1d.yaml --set train.batch_size=40 --set train.eval_every=1 --set run.progress=false)
  for run in "1 4 one" "$n 4 many" "$n 2 resumed"; do
    set -- $run
    step "Burgers, $1 rank(s), $2 epochs ($3)"
    timeout 120 $REPO/launch/mpirun.sh -n $1 train "${B[@]}" --set train.epochs=$2 --set run.name=zero-$3 2>&1 | grep -E "test rel|error" | tee res/zerocheck_$3.log
  done
  step "Burgers, $n ranks, resumed from epoch 2 to 4"
  timeout 120 $REPO/launch/mpirun.sh -n $n train "${B[@]}" --set train.epochs=4 --set run.name=zero-resumed --resume 2>&1 \
    | grep -E "resumed|test rel|error" | tee -a res/zerocheck_resumed.log
fi

if [ "$PHASE" = overhead5 ]; then
  # The profiler's cost with the defaults on the launch-bound Burgers step at 4 GPUs (ranks lined up
  # before each timed step), each repetition next to an A/A control run (profile.control_run: the
  # profiled slots run unprofiled, so its figure is the estimator's noise), OVERHEAD_REPS times
  # (default 6); then FNO-2D large on one GPU when LARGE=1. BURGERS_TRAIN=N generates N training
  # samples instead of 1000 (same model, batch and step; quicker).
  burgers_data
  for rep in $(seq 1 ${OVERHEAD_REPS:-6}); do
    for control in false true; do
      step "Burgers (paper FNO-1D), 4 GPUs, default profiling, control_run=$control, repetition $rep"
      burgers_overhead_run burgers-control_$control-$rep res/overhead5.log "control=$control $rep " --set profile.control_run=$control
      cp res/burgers-control_$control-$rep.json res/overhead5.log "$OUT_DIR"/ 2>/dev/null  # kept if the command is cut short
    done
  done
  [ "${LARGE:-0}" = 1 ] && large_overhead_run res/overhead5.log
fi

if [ "$PHASE" = dpcta ]; then
  # NCCL's CTA policy and protocol against the 4-GPU weak-scaling loss (session 5).
  SWEEP=1 dp_sweep parallel.nccl_cta_policy=default default "1 4"
  dp_sweep parallel.nccl_cta_policy=efficiency efficiency 4
  dp_sweep parallel.nccl_cta_policy=zero zero 4
  NCCL_PROTO=Simple dp_sweep parallel.nccl_cta_policy=default simple 4
fi

if [ "$PHASE" = ncumedium ]; then
  # The default (cuBLAS) path where the per-GPU batch fills cuBLAS's 32-row tiles: `medium` at 128^2, batch 32.
  darcy256
  peaks
  ncu_compare false fno2d-medium 32 --set data.sub=2
fi

if [ "$PHASE" = overhead ]; then
  # The profiler's own cost (alternating plain and profiled steps) on a large and a small model.
  darcy256
  BURGERS_TRAIN=400 BURGERS_TEST=40 burgers_data
  for so in true false; do
    step "FNO-2D large, 1 GPU, sample_ops=$so"
    timeout 100 $F train -c $REPO/configs/fno2d-large.yaml --set data.train=data/darcy256-train --set data.test=data/darcy256-test \
      --set train.epochs=8 --set train.eval_every=1000 --set train.checkpoints=false --set run.progress=false --set profile.enabled=true \
      --set profile.sample_ops=$so --set run.name=large-$so 2>&1 | grep "profile:" | tee -a res/overhead.log
    step "Burgers (paper FNO-1D), 4 GPUs, sample_ops=$so"
    timeout 100 $REPO/launch/mpirun.sh -n 4 train -c $REPO/configs/burgers1d.yaml --set train.epochs=40 --set train.batch_size=80 \
      --set train.eval_every=1000 --set train.checkpoints=false --set run.progress=false --set profile.enabled=true --set profile.sample_ops=$so \
      --set profile.steps=60 --set run.name=burgers-$so 2>&1 | grep "profile:" | tee -a res/overhead.log
    cp runs/large-$so/profile/rank-00000.json res/large-$so.json; cp runs/burgers-$so/profile/rank-00000.json res/burgers-$so.json
  done
fi

if [ "$PHASE" = dpchan ]; then
  # Data-parallel weak scaling with NCCL limited to fewer channels (SMs) while it overlaps backward.
  for ch in default 4 8; do
    if [ $ch = default ]; then unset NCCL_MAX_NCHANNELS; else export NCCL_MAX_NCHANNELS=$ch; fi
    for n in 1 4; do
      step "fourmi np $n, NCCL_MAX_NCHANNELS=$ch"
      "${MPIRUN[@]}" -np $n $DP --configs $CFGS --json $W/res/fourmi_np${n}_ch$ch.json 2>&1 | grep -vE "^\[" | tail -3
    done
    for n in 1 4; do
      step "DDP np $n, NCCL_MAX_NCHANNELS=$ch"
      torchrun --standalone --nproc_per_node=$n $REPO/.deps/torch_fno_baseline.py ddp --configs medium,large --json $W/res/ddp_np${n}_ch$ch.json 2>&1 | grep '^{' | tail -2 | cut -c1-300
    done
  done
  unset NCCL_MAX_NCHANNELS
fi

if [ "$PHASE" = mpbench ]; then
  mp_sweep
  mp_showcase
  step "showcase with M = 1 on one H200: expected not to fit"
  timeout 100 $MP -c $REPO/configs/fno3d-showcase.yaml --set parallel.modes=1 --per-replica 2 --grid 64 --steps 1 --warmup 1 > res/showcase_m1.log 2>&1
  grep -vE "^\| " res/showcase_m1.log | grep -v "^ *frame\|^Exception raised" | tail -4 | cut -c1-400
fi

if [ "$PHASE" = modes ]; then
  mp_sweep
  step "showcase data: Navier-Stokes in space-time, 48 + 8 samples of 64 x 64 x 64"
  timeout 120 $F datagen -c $REPO/configs/fno3d-showcase.yaml --set run.progress=false 2>&1 | tail -2
  mp_showcase
  step "showcase: training with M = 4 (loss must fall)"
  timeout 240 "${MPIRUN[@]}" -np 4 $F train -c $REPO/configs/fno3d-showcase.yaml --set run.progress=false --set train.eval_every=1 2>&1 \
    | grep -E "grid|model:|epoch|error|test rel" | tail -8 | tee res/showcase_train.log
  cp runs/fno3d-showcase/metrics.jsonl res/showcase_metrics.jsonl 2>/dev/null
  step "showcase with M = 1 on one H200: expected not to fit"
  timeout 100 $MP -c $REPO/configs/fno3d-showcase.yaml --set parallel.modes=1 --per-replica 2 --grid 64 --steps 1 --warmup 1 2>&1 \
    | grep -iE "out of memory|error|step" | head -3 | cut -c1-400 | tee res/showcase_m1.log
fi

if [ "$PHASE" = data ]; then
  step "Burgers, paper setting (1000 + 200 samples at 8192 points)"
  timeout 150 $F datagen -c $REPO/configs/burgers1d.yaml --set run.progress=false --set datagen.check_refinement=2 2>&1 | tail -3 | tee res/datagen_burgers.log
  for n in 1 4; do
    step "fourmi bench io, $n rank(s)"
    timeout 120 $REPO/launch/mpirun.sh -n $n bench io -c $REPO/configs/burgers1d.yaml --out $W/res/io.json 2>&1 | grep -vE "^\[|Warning" | tail -4
  done
  step "Navier-Stokes (paper setting: 256^2 solve, 64^2 stored, T = 50): 96 + 16 samples, refinement check on 2"
  timeout 200 $F datagen navier_stokes2d --set datagen.n_train=96 --set datagen.n_test=16 --set datagen.batch=56 \
    --set datagen.check_refinement=2 --set run.progress=false 2>&1 | tail -3 | tee res/datagen_ns.log
  du -sh data/* >> res/datagen_ns.log
  step "Darcy (paper setting: 421^2, PCG 1e-8): 200 + 20 samples, refinement check on 2 (841^2)"
  timeout 150 $F datagen darcy2d --set datagen.n_train=200 --set datagen.n_test=20 --set datagen.batch=100 \
    --set datagen.check_refinement=2 --set run.progress=false 2>&1 | tail -3 | tee res/datagen_darcy.log
  python3 -c "import h5py,json,glob; f=sorted(glob.glob('data/navier_stokes2d-train/*.h5'))[0]; h=h5py.File(f); print(f, {k:(h[k].shape,h[k].dtype,h[k].chunks) for k in h})" >> res/datagen_ns.log 2>&1
  cp data/*/manifest.json res/ 2>/dev/null; for d in data/*; do cp $d/manifest.json res/manifest-$(basename $d).json; done
fi
step "done: $(( $(date +%s) - t0 )) s"


if [ "$PHASE" = dp ]; then
  # Where the weak-scaling loss comes from: stream priority, bucket size, and 4 independent runs.
  mode_mix_test
  SWEEP=1 dp_sweep parallel.comm_priority=high high
  dp_sweep parallel.comm_priority=normal normal
  dp_sweep parallel.bucket_mb=100 bucket100 4
  step "fourmi, 4 independent single-GPU processes at once (no communication)"
  for g in 0 1 2 3; do
    CUDA_VISIBLE_DEVICES=$g timeout 120 $DP --configs $CFGS --json $W/res/dp_independent_gpu$g.json > $W/res/dp_independent_gpu$g.log 2>&1 &
  done
  wait
  grep -h '^{' $W/res/dp_independent_gpu*.log | cut -c1-200
  raw_nccl
  ddp_sweep
fi

if [ "$PHASE" = final ]; then
  # The FNO-2D `large` roofline profile with the defaults, Nsight Compute on the kernel path, and
  # the cold-cache reader next to the disk's own direct-I/O read rate.
  peaks
  darcy256
  profile_large
  ncu_compare true
  ncu_compare false
  step "Burgers, paper setting (1000 + 200 samples at 8192 points)"
  burgers_data
  step "the disk's direct-I/O read rate over the shard files (8 readers at once, page cache bypassed)"
  d0=$(date +%s.%N); for f in data/burgers1d-train/*.h5; do dd if=$f of=/dev/null bs=8M iflag=direct 2>/dev/null & done; wait; d1=$(date +%s.%N)
  bytes=$(cat data/burgers1d-train/*.h5 | wc -c)
  python3 -c "print(f'direct read: {$bytes/1e9:.3f} GB in {$d1-$d0:.3f} s = {$bytes/1e9/($d1-$d0):.2f} GB/s')" | tee res/disk_read.txt
  for n in 1 4; do
    step "fourmi bench io, $n rank(s)"
    timeout 120 $REPO/launch/mpirun.sh -n $n bench io -c $REPO/configs/burgers1d.yaml --out $W/res/io.json 2>&1 | grep -E "cache:" | tail -2
  done
fi

if [ "$PHASE" = mixncu ]; then
  # cuBLAS's complex GEMM as C = A B and as C^T = B^T A^T: time, and FLOPs executed (TF32 off).
  $REPO/build-gpu/bin/fourmi-bench-mix --cublas-only --json $W/res/mode_mix_cublas.json | cut -c1-220
  for pr in fwd fwd,t dx dx,t dw dw,t; do
    ncu -k 'regex:gemm|Gemm|GEMM|cutlass|xmma|gemv' \
      --metrics smsp__sass_thread_inst_executed_op_fadd_pred_on.sum,smsp__sass_thread_inst_executed_op_fmul_pred_on.sum,smsp__sass_thread_inst_executed_op_ffma_pred_on.sum \
      --csv --page raw $REPO/build-gpu/bin/fourmi-bench-mix --probe $pr > res/ncu_probe_${pr/,/_}.csv 2>&1
    python3 - res/ncu_probe_${pr/,/_}.csv $pr <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
i = next((k for k, r in enumerate(rows) if r and r[0] == "ID"), None)
if i is None: print(sys.argv[2], "no table"); sys.exit()
h = rows[i]; n = h.index("Kernel Name")
c = {m: h.index(f"smsp__sass_thread_inst_executed_op_{m}_pred_on.sum") for m in ("fadd", "fmul", "ffma")}
for r in rows[i + 2:]:
    f = sum(float(r[c[m]].replace(",", "")) * (2 if m == "ffma" else 1) for m in c)
    print(f"{sys.argv[2]:6s} {f / 1.073741824e9:6.3f} x useful  {r[n][:110]}")
PY
  done
fi

if [ "$PHASE" = mix1 ]; then
  # The mode-mixing kernel on one GPU: tests, the product benchmark, and the training step on each path.
  mode_mix_test
  $REPO/build-gpu/bin/fourmi-bench-mix --json $W/res/mode_mix.json | cut -c1-200
  for mk in false true; do
    step "fourmi 1 GPU, run.mix_kernel=$mk"
    timeout 120 $DP --configs $CFGS --set run.mix_kernel=$mk --json $W/res/dp_fourmi_np1_mix$mk.json 2>&1 | grep '^{' | cut -c1-200
  done
fi

if [ "$PHASE" = ncukernel ]; then
  peaks
  darcy256
  ncu_compare true
fi

if [ "$PHASE" = mixbench ]; then
  mode_mix_test
  step "mode-mixing products: cuBLAS against the kernel's variants"
  $REPO/build-gpu/bin/fourmi-bench-mix --json $W/res/mode_mix.json | cut -c1-260
fi

if [ "$PHASE" = dpmix ]; then
  # Weak scaling with the mode mixing on cuBLAS (default) and on fourmi's kernel, bf16 gradient
  # compression, DDP and raw NCCL, all in one command: bench/results/dp_scaling.json.
  mode_mix_test
  SWEEP=1 dp_sweep run.mix_kernel=false mixfalse
  dp_sweep run.mix_kernel=true mixtrue
  dp_sweep parallel.bf16_compress=true bf16 4
  raw_nccl
  ddp_sweep
fi
done
