#!/usr/bin/env bash
# Fault injection under `mpirun -np 4` (CPU): FOURMI_CHAOS_KILLS times (default 20), one rank
# chosen at random is killed with SIGKILL at a random moment of a training run that resumes
# itself (--auto-resume). Each time every process must be gone within 60 s and the newest
# checkpoint must load; at the end the resumed run must hold bitwise the parameters of an
# uninterrupted run of the same config.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
FOURMI=$(readlink -f "${1:?usage: test_chaos.sh path/to/fourmi}")
KILLS=${FOURMI_CHAOS_KILLS:-20}
WORK=$(mktemp -d /tmp/fourmi-chaos-XXXXXX)
trap 'pkill -KILL -f "run.name=chaos" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"
MPIRUN=(mpirun --oversubscribe --allow-run-as-root --mca btl self,vader -np 4)
CFG=(--set datagen.out=data/b --set datagen.n_train=32 --set datagen.n_test=8 --set datagen.shards=2
     --set datagen.burgers1d.resolution=256 --set datagen.burgers1d.viscosity=0.05
     --set data.train=data/b-train --set data.test=data/b-test --set data.sub=2
     --set model.width=8 --set model.modes=8 --set model.layers=2 --set model.projection_width=16
     --set train.epochs=1500 --set train.batch_size=8 --set train.eval_every=1500 --set train.checkpoint_every=5
     --set run.progress=false)
crc() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parameters_crc32"])' "$1" 2>/dev/null; }
rank_pid() {  # rank_pid MPIRUN_PID RANK: the pid of that rank (a child of mpirun)
  for p in $(pgrep -P "$1"); do
    tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$p"; return; }
  done
}
"$FOURMI" datagen burgers1d "${CFG[@]}" > datagen.log 2>&1 || { cat datagen.log; exit 1; }
"${MPIRUN[@]}" "$FOURMI" train "${CFG[@]}" --set run.name=chaos-ref > ref.log 2>&1 || { tail -20 ref.log; exit 1; }

slowest=0 killed=0 unreadable=0 lingering=0
for i in $(seq "$KILLS"); do
  "${MPIRUN[@]}" "$FOURMI" train "${CFG[@]}" --set run.name=chaos --auto-resume > "run-$i.log" 2>&1 &
  mpid=$!
  sleep "$(( RANDOM % 20 + 5 ))e-1"  # 0.5-2.4 s: start-up, training, or a checkpoint write
  rank=$(( RANDOM % 4 ))
  pid=$(rank_pid "$mpid" "$rank")
  [ -n "$pid" ] || { wait "$mpid"; echo "kill $i: the run ended before rank $rank could be killed"; continue; }
  kill -KILL "$pid"; t0=$(date +%s%N)
  for _ in $(seq 600); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
  wait "$mpid" 2>/dev/null
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$ms" -gt "$slowest" ] && slowest=$ms
  pgrep -f "run.name=chaos --auto" > /dev/null && { lingering=$((lingering + 1)); pkill -KILL -f "run.name=chaos --auto"; }
  killed=$((killed + 1))
  newest=$(ls runs/chaos/checkpoints/ckpt-*.safetensors 2>/dev/null | sort | tail -1)
  if [ -n "$newest" ]; then
    "$FOURMI" eval "${CFG[@]}" --set run.name=chaos --checkpoint "$newest" > "eval-$i.log" 2>&1 \
      || { unreadable=$((unreadable + 1)); echo "kill $i: $newest does not load: $(tail -2 "eval-$i.log")"; }
  fi
  echo "kill $i: rank $rank (pid $pid), all processes gone after ${ms} ms, newest ${newest##*/}"
done
[ "$killed" -eq "$KILLS" ] && pass "$killed kills of a random rank at a random time" || fail "only $killed of $KILLS kills landed"
[ "$slowest" -lt 60000 ] && [ "$lingering" -eq 0 ] && pass "every process gone within 60 s each time (slowest ${slowest} ms)" \
  || fail "slowest exit ${slowest} ms, $lingering run(s) left processes behind"
[ "$unreadable" -eq 0 ] && pass "the newest checkpoint loaded after every kill" || fail "$unreadable unreadable checkpoints"
"${MPIRUN[@]}" "$FOURMI" train "${CFG[@]}" --set run.name=chaos --auto-resume > final.log 2>&1
[ -n "$(crc runs/chaos-ref/result.json)" ] && [ "$(crc runs/chaos/result.json)" = "$(crc runs/chaos-ref/result.json)" ] \
  && pass "resumed to the end: bitwise the uninterrupted run's parameters ($(crc runs/chaos/result.json))" \
  || fail "final parameters $(crc runs/chaos/result.json) vs uninterrupted $(crc runs/chaos-ref/result.json): $(tail -3 final.log)"
[ -z "$(find runs/chaos -name '*.tmp.*')" ] && pass "no temporary file left after the last start" || fail "temporary files left"
finish chaos
