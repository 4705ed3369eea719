#!/usr/bin/env bash
# srun.sh — start fourmi inside a Slurm allocation (salloc or an sbatch script), one task per GPU.
#   launch/srun.sh <fourmi command> [args...]        e.g. launch/srun.sh train -c configs/burgers1d.yaml
# Defaults:
#   --mpi=pmix               Open MPI ranks wire up through Slurm's PMIx (no mpirun inside the job)
#   --ntasks=$SLURM_NTASKS   all tasks of the allocation
#   --cpu-bind=cores         each task on its own cores
#   --kill-on-bad-exit=1     a task that dies ends the step at once (the others would wait in a collective)
#   no --gpu-bind            every task sees all GPUs of its node and fourmi picks GPU local_rank % GPUs,
#                            which avoids the broken device ordinals some --gpu-bind setups produce
#   NCCL_NVLS_ENABLE=0, NCCL_DEBUG=WARN; set NCCL_SOCKET_IFNAME / NCCL_IB_HCA for your network
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
FOURMI=${FOURMI:-$here/build/bin/fourmi}
[ -n "${SLURM_JOB_ID:-}" ] || { echo "srun.sh: not inside a Slurm allocation (use salloc or sbatch)" >&2; exit 1; }
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0} NCCL_DEBUG=${NCCL_DEBUG:-WARN}
exec srun --mpi=pmix --kill-on-bad-exit=1 --ntasks="${SLURM_NTASKS:-1}" --cpu-bind=cores "$FOURMI" "$@"
