#!/usr/bin/env bash
# mpirun.sh — start fourmi on this machine with one rank per GPU (or N CPU ranks).
#   launch/mpirun.sh [-n RANKS] <fourmi command> [args...]     e.g. launch/mpirun.sh -n 4 train -c configs/burgers1d.yaml
# Defaults, each overridable from the environment:
#   RANKS             number of GPUs seen by nvidia-smi, else 2
#   --bind-to none    fourmi binds each rank to GPU local_rank % GPUs itself; leave CPU binding to the OS
#   --map-by slot     consecutive ranks on the same host (local ranks 0..n-1)
#   NCCL_NVLS_ENABLE=0       NVLink SHARP/multicast off (not available on every NVLink system)
#   NCCL_DEBUG=WARN          NCCL prints only warnings; set INFO to see rings/channels
#   OMPI_MCA_btl=self,vader  shared memory between local ranks (MPI only bootstraps NCCL and runs the CPU backend)
#   --oversubscribe          when RANKS exceeds the cores (nproc), or always with OVERSUBSCRIBE=1
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
FOURMI=${FOURMI:-$here/build/bin/fourmi}
RANKS=${RANKS:-$({ nvidia-smi -L 2>/dev/null || true; } | wc -l)}
[ "$RANKS" -gt 0 ] 2>/dev/null || RANKS=2
if [ "${1:-}" = "-n" ]; then RANKS=$2; shift 2; fi
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0} NCCL_DEBUG=${NCCL_DEBUG:-WARN} OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
extra=()
[ "$(id -u)" -eq 0 ] && extra+=(--allow-run-as-root)
{ [ "$RANKS" -gt "$(nproc)" ] || [ "${OVERSUBSCRIBE:-0}" = 1 ]; } && extra+=(--oversubscribe)
exec mpirun -np "$RANKS" --bind-to none --map-by slot "${extra[@]}" \
  -x NCCL_NVLS_ENABLE -x NCCL_DEBUG -x LD_LIBRARY_PATH "$FOURMI" "$@"
