#!/usr/bin/env bash
# slurm_cluster.sh — start or stop a real one-node Slurm cluster on this machine for the tests:
# munged, slurmctld and slurmd from Debian's packages, a generated slurm.conf (proctrack/linuxproc,
# task/none, select/cons_tres, MpiDefault=pmix), everything under one state directory.
#   slurm_cluster.sh start DIR   → prints "export SLURM_CONF=DIR/slurm.conf" once the node is idle
#   slurm_cluster.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}; DIR=$(realpath -m "${2:?state directory}")
host=$(hostname -s)

stop() {
  for f in "$DIR"/slurmd.pid "$DIR"/slurmctld.pid "$DIR"/munged.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 1
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$(id -u)" -eq 0 ] || { echo "slurm_cluster.sh: slurmd needs root to start jobs as users; run the slurm tests as root" >&2; exit 1; }
mkdir -p "$DIR"/{state,spool,munge}
# munge: the package's key, a private socket so a system munged is not disturbed.
key=/etc/munge/munge.key
[ -f "$key" ] || { echo "slurm_cluster.sh: $key missing (is the munge package installed?)" >&2; exit 1; }
sock="$DIR/munge/munge.socket"
munged --force --socket="$sock" --pid-file="$DIR/munged.pid" --log-file="$DIR/munged.log" \
  --seed-file="$DIR/munge/seed" --key-file="$key"
ports=$(python3 - <<'PY'
import socket
s=[socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1",0))
print(" ".join(str(x.getsockname()[1]) for x in s))
PY
)
read -r ctld_port d_port <<<"$ports"
cat > "$DIR/slurm.conf" <<CONF
ClusterName=fourmitest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
export SLURM_CONF="$DIR/slurm.conf"
slurmctld -c -f "$SLURM_CONF"   # -c: clean start, no saved state
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 60); do
  state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
  case "$state" in idle*|mix*|alloc*) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
  sleep 1
done
echo "slurm_cluster.sh: node $host did not become idle; logs:" >&2
tail -20 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 || true
stop
exit 1
