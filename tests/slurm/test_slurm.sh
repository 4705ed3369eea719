#!/usr/bin/env bash
# test_slurm.sh — fourmi under a real one-node Slurm: srun --mpi=pmix with 2 tasks, the
# single-node sbatch template, preemption through it (signal, checkpoint, requeue, resume) and
# tasks killed under srun. Starts and stops munged, slurmctld and slurmd itself.
set -uo pipefail
FOURMI=$(readlink -f "${1:?usage: test_slurm.sh path/to/fourmi}")
SRC=${FOURMI_SOURCE_DIR:?}
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root to run slurmd"; exit 77; }
for b in munged slurmctld slurmd srun sbatch; do command -v $b >/dev/null || { echo "FAIL - $b not installed (make setup installs slurm-wlm and munge)"; exit 1; }; done
WORK=$(mktemp -d /tmp/fourmi-slurm-XXXXXX)
cleanup() { bash "$SRC/tests/slurm/slurm_cluster.sh" stop "$WORK/cluster"; rm -rf "$WORK"; }
trap cleanup EXIT
eval "$(bash "$SRC/tests/slurm/slurm_cluster.sh" start "$WORK/cluster")" || { echo "FAIL - could not start the cluster"; exit 1; }
cd "$WORK"
fails=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; fails=$((fails + 1)); }
SMALL=(--set datagen.out=data/b --set datagen.n_train=16 --set datagen.n_test=4 --set datagen.shards=2
       --set datagen.burgers1d.resolution=128 --set datagen.burgers1d.viscosity=0.05
       --set data.train=data/b-train --set data.test=data/b-test
       --set model.width=8 --set model.modes=8 --set model.layers=2 --set model.projection_width=16
       --set train.epochs=2 --set train.batch_size=8 --set run.progress=false)
"$FOURMI" datagen "${SMALL[@]}" > datagen.log 2>&1 || { cat datagen.log; exit 1; }

timeout 300 srun --mpi=pmix -n 2 "$FOURMI" train "${SMALL[@]}" --set run.name=srun > srun.log 2>&1
if grep -q "2 rank(s) via srun" srun.log && grep -q '"ranks": 2' runs/srun/result.json 2>/dev/null; then
  pass "srun --mpi=pmix -n 2: ranks from Slurm, result written"
else fail "srun: $(tail -20 srun.log)"; fi

# The template as shipped, on a CPU node: only the GPU count and task count are overridden.
cp "$SRC/configs/debug.yaml" cfg.yaml
FOURMI="$FOURMI" RUN_NAME=sbatch timeout 300 sbatch --wait --gpus-per-node=0 --ntasks-per-node=2 --cpus-per-task=1 \
  --output="$WORK/sbatch-%j.out" "$SRC/launch/slurm/single-node.sbatch" cfg.yaml "${SMALL[@]}" > submit.log 2>&1
out=$(ls "$WORK"/sbatch-*.out 2>/dev/null | head -1)
if [ -n "$out" ] && grep -q "2 rank(s) via srun" "$out" && grep -q '"ranks": 2' runs/sbatch/result.json 2>/dev/null; then
  pass "sbatch single-node template: ran 2 tasks, result written"
else fail "sbatch: $(cat submit.log; [ -n "$out" ] && tail -20 "$out")"; fi

# Preemption through the template: a USR1 to the job's steps mid-run (what --signal=USR1@90 sends
# before the time limit) → fourmi checkpoints and exits 75 → the template requeues the job → the
# same job resumes (--auto-resume) and completes with the parameters of an uninterrupted run.
crc() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parameters_crc32"])' "$1" 2>/dev/null; }
LONG=(--set train.epochs=400 --set train.eval_every=100 --set train.checkpoint_every=100)
timeout 300 srun --mpi=pmix -n 2 "$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=preempt-ref > preempt-ref.log 2>&1
jobid=$(FOURMI="$FOURMI" RUN_NAME=preempt sbatch --parsable --gpus-per-node=0 --ntasks-per-node=2 --cpus-per-task=1 \
  --output="$WORK/preempt-%j.out" "$SRC/launch/slurm/single-node.sbatch" cfg.yaml "${SMALL[@]}" "${LONG[@]}")
for _ in $(seq 1200); do [ -f runs/preempt/metrics.jsonl ] && [ "$(wc -l < runs/preempt/metrics.jsonl)" -ge 3 ] && break; sleep 0.1; done
scancel --signal=USR1 "$jobid"
state=""
for _ in $(seq 600); do
  state=$(scontrol show job "$jobid" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
  restarts=$(scontrol show job "$jobid" 2>/dev/null | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
  [ "$state" = COMPLETED ] && [ "${restarts:-0}" -ge 1 ] && break
  case "$state" in FAILED|CANCELLED|TIMEOUT|NODE_FAIL) break ;; esac
  sleep 1
done
out="$WORK/preempt-$jobid.out"
if [ "$state" = COMPLETED ] && grep -q "stopping on SIGUSR1" "$out" && grep -q "requeueing" "$out" && grep -q "resumed from" "$out" \
   && [ -n "$(crc runs/preempt-ref/result.json)" ] && [ "$(crc runs/preempt/result.json)" = "$(crc runs/preempt-ref/result.json)" ]; then
  pass "scancel --signal=USR1: checkpoint, requeue, resume; same parameters as the uninterrupted run ($(crc runs/preempt/result.json))"
else fail "preemption (job $jobid $state, restarts ${restarts:-?}): $(tail -30 "$out" 2>/dev/null)"; fi

# Kills under srun (--kill-on-bad-exit=1, as the templates): a random task killed at a random
# moment, FOURMI_SLURM_KILLS times (default 5);
# srun must end the step, and the resumed run must finish with the uninterrupted run's parameters.
kills=${FOURMI_SLURM_KILLS:-5} slowest=0 lingering=0
for i in $(seq "$kills"); do
  timeout 120 srun --mpi=pmix --kill-on-bad-exit=1 -n 2 "$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=preempt-ref2 --auto-resume > "kill-$i.log" 2>&1 &
  spid=$!
  sleep "$(( RANDOM % 20 + 10 ))e-1"
  victim=$(pgrep -f "run.name=preempt-ref2" | grep -v "^$spid$" | xargs -r ps -o pid=,comm= -p | awk '$2 == "fourmi" {print $1}' | shuf -n1)
  [ -n "$victim" ] && kill -KILL "$victim"
  t0=$(date +%s%N)
  wait "$spid" 2>/dev/null
  ms=$(( ($(date +%s%N) - t0) / 1000000 )); [ "$ms" -gt "$slowest" ] && slowest=$ms
  sleep 1; pgrep -f "run.name=preempt-ref2" > /dev/null && lingering=$((lingering + 1))
done
timeout 300 srun --mpi=pmix -n 2 "$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=preempt-ref2 --auto-resume > kill-final.log 2>&1
[ "$slowest" -lt 60000 ] && [ "$lingering" -eq 0 ] && [ "$(crc runs/preempt-ref2/result.json)" = "$(crc runs/preempt-ref/result.json)" ] \
  && pass "$kills kills of a task under srun: step ended each time (slowest ${slowest} ms), resumed to the same parameters" \
  || fail "kills under srun: slowest ${slowest} ms, lingering $lingering, $(crc runs/preempt-ref2/result.json) vs $(crc runs/preempt-ref/result.json)"

if [ $fails -eq 0 ]; then echo "slurm: all passed"; exit 0; else echo "slurm: $fails failed"; exit 1; fi
