#!/usr/bin/env bash
# End-to-end checks of the fourmi binary: CLI errors, config errors, datagen → train → eval,
# eval at another resolution, mpirun with 2 ranks, and one rank's failure ending every rank.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
FOURMI=$(readlink -f "${1:?usage: test_cli.sh path/to/fourmi}")
WORK=$(mktemp -d /tmp/fourmi-e2e-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
MPIRUN=(mpirun --oversubscribe --allow-run-as-root --mca btl self,vader)
SMALL=(--set datagen.out=data/b --set datagen.n_train=32 --set datagen.n_test=8 --set datagen.shards=2
       --set datagen.burgers1d.resolution=256 --set datagen.burgers1d.viscosity=0.05
       --set data.train=data/b-train --set data.test=data/b-test --set data.sub=2
       --set model.width=8 --set model.modes=8 --set model.layers=2 --set model.projection_width=16
       --set train.epochs=2 --set train.batch_size=8 --set train.eval_every=1 --set run.name=e2e --set run.progress=false)

"$FOURMI" --help | grep -q "train" && pass "help lists commands" || fail "help lists commands"
expect_fail "unknown command" "bogus" "$FOURMI" bogus
expect_fail "unknown flag" "--bogus" "$FOURMI" train --bogus
printf 'train:\n  epochs: 3\n  lrr: 0.1\n' > bad.yaml
expect_fail "unknown config key names file:line and key" "bad.yaml:3: key 'train.lrr'" "$FOURMI" train -c bad.yaml
expect_fail "bad override value" "train.epochs" "$FOURMI" train --set train.epochs=zero
expect_fail "missing dataset" "manifest.json" "$FOURMI" train --set data.train=nowhere

"$FOURMI" datagen burgers1d "${SMALL[@]}" > datagen.log 2>&1 && pass "datagen" || fail "datagen: $(cat datagen.log)"
h5dump -H data/b-train/b-train-00000-of-00002.h5 | grep -q 'DATASET "x"' && pass "shard readable by h5dump" || fail "h5dump"
"$FOURMI" train "${SMALL[@]}" > train.log 2>&1 && pass "train" || fail "train: $(cat train.log)"
grep -q "test relative L2 error" train.log && pass "train prints test error" || fail "train output"
[ -f runs/e2e/config.yaml ] && [ -f runs/e2e/metrics.jsonl ] && [ -f runs/e2e/checkpoints/ckpt-000002.safetensors ] \
  && pass "run directory complete" || fail "run directory: $(ls -R runs)"
"$FOURMI" train -c runs/e2e/config.yaml --set train.epochs=3 --resume > resume.log 2>&1 && grep -q "resumed from" resume.log \
  && [ -f runs/e2e/checkpoints/ckpt-000003.safetensors ] && pass "resume from written config" || fail "resume: $(cat resume.log)"
"$FOURMI" eval "${SMALL[@]}" --set data.sub=1 > eval.log 2>&1 && grep -q "1,256" eval.log \
  && pass "eval at another resolution" || fail "eval: $(cat eval.log)"

"${MPIRUN[@]}" -np 2 "$FOURMI" info > info.log 2>&1 && [ "$(grep -c '^rank ' info.log)" = 2 ] && grep -q "launcher mpirun" info.log \
  && pass "info under mpirun shows both ranks" || fail "info: $(cat info.log)"
"${MPIRUN[@]}" -np 2 "$FOURMI" train "${SMALL[@]}" --set run.name=e2e-mpi > mpi.log 2>&1 \
  && grep -q '"ranks": 2' runs/e2e-mpi/result.json && pass "train under mpirun -np 2" || fail "mpirun train: $(cat mpi.log)"
[ -f runs/e2e-mpi/profile/comm-rank-00000.json ] && [ -f runs/e2e-mpi/profile/comm-rank-00001.json ] \
  && grep -q '"op": "all_reduce"' runs/e2e-mpi/profile/comm-rank-00001.json && pass "per-rank communication logs" || fail "comm logs: $(ls -R runs/e2e-mpi)"

# The step profiler under mpirun: the ranks line up before each timed step, profiled and plain
# steps alternate, and the profiler's overhead is measured.
"${MPIRUN[@]}" -np 2 "$FOURMI" train "${SMALL[@]}" --set run.name=e2e-profile --set train.epochs=3 --set profile.enabled=true \
  --set profile.warmup_steps=1 --set profile.steps=3 > profile.log 2>&1
if python3 - runs/e2e-profile/profile/rank-00001.json <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))["steps"]
assert st["profiled"] == 3, st["profiled"]
assert isinstance(st["overhead_pct"], (int, float)), st["overhead_pct"]
PY
then pass "profile under mpirun: three profiled steps, overhead measured"; else fail "profile: $(tail -5 profile.log)"; fi

# debug: section. check_finite names the first op that produced NaN/Inf (here: weights blown up
# by a huge learning rate); rank_logs gives every rank its own log file under mpirun.
expect_fail "debug.check_finite names the first op with NaN/Inf" "debug.check_finite: [a-z0-9_.]* (forward) produced NaN or Inf" \
  "$FOURMI" train "${SMALL[@]}" --set run.name=e2e-nan --set train.lr=1e38 --set debug.check_finite=true
"${MPIRUN[@]}" -np 2 "$FOURMI" train "${SMALL[@]}" --set run.name=e2e-logs --set debug.rank_logs=true --set train.epochs=1 \
  --set debug.sync=true --set debug.deterministic=true > logs.log 2>&1
grep -q "test relative L2" runs/e2e-logs/logs/rank-00000.log && grep -q "fourmi train" runs/e2e-logs/logs/rank-00001.log \
  && pass "debug.rank_logs: one log per rank under mpirun" || fail "rank logs: $(cat logs.log; ls -R runs/e2e-logs)"

# Mode parallelism end to end: 2 ranks split the spectral modes (data 1 x modes 2), the checkpoint
# is sharded by mode rank, and a single process (M = 1) evaluates it to the same test error.
"${MPIRUN[@]}" -np 2 "$FOURMI" train "${SMALL[@]}" --set run.name=e2e-modes --set parallel.modes=2 > modes.log 2>&1
"$FOURMI" eval "${SMALL[@]}" --set run.name=e2e-modes > modes-eval.log 2>&1
trained=$(grep -o 'test relative L2 error: [0-9.]*' modes.log | tail -1 | awk '{print $5}')
evaluated=$(grep -o 'test relative L2 error [0-9.]*' modes-eval.log | awk '{print $5}')
if grep -q "grid: 1 data x 2 modes" modes.log && ls runs/e2e-modes/checkpoints/*.modes-001-of-002.safetensors > /dev/null 2>&1 \
   && [ -n "$trained" ] && [ "$trained" = "$evaluated" ]; then pass "parallel.modes=2: sharded checkpoint, evaluated with M = 1 to the same error ($trained)"
else fail "mode-parallel train/eval: trained '$trained' evaluated '$evaluated': $(tail -5 modes.log; tail -3 modes-eval.log; ls runs/e2e-modes/checkpoints)"; fi

# A collective timeout names the rank that did not arrive (rank 2 stalls before the first barrier;
# the stall is injected by a test program, tests/faults/stall_rank.cpp, never by fourmi itself).
expect_fail "collective timeout names the absent rank" "rank(s) 2 of group 'world' did not arrive" \
  timeout 120 "${MPIRUN[@]}" -np 3 --oversubscribe "$FOURMI_FAULT_STALL_BIN" 2 40 --set parallel.timeout_s=3

# Only rank 1 reads the second shard (no shuffle, one step per epoch): corrupt it, rank 1 fails,
# rank 0 is already waiting in a collective and must be ended too, with rank 1's message. At
# data.sub 2 the reader takes the stored level of sub 2 (datagen.levels in the default config).
printf 'XXXXXXXX' | dd of=data/b-train/sub2/b-train-sub2-00001-of-00002.h5 bs=1 seek=4000 conv=notrunc 2>/dev/null
start=$(date +%s)
expect_fail "one rank's failure ends all ranks" "checksum mismatch" timeout 120 "${MPIRUN[@]}" -np 2 "$FOURMI" train "${SMALL[@]}" \
  --set run.name=e2e-fail --set data.shuffle=false --set train.batch_size=32
[ $(( $(date +%s) - start )) -lt 100 ] && pass "failure propagated without a hang" || fail "failure took too long"

finish e2e
