#!/usr/bin/env bash
# test_slurm.sh — fourmi under a real one-node Slurm: srun --mpi=pmix with 2 tasks, and the
# single-node sbatch template; checks that ranks came from the Slurm environment and that both
# runs wrote their results. Starts and stops munged, slurmctld and slurmd itself.
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

if [ $fails -eq 0 ]; then echo "slurm: all passed"; exit 0; else echo "slurm: $fails failed"; exit 1; fi
