#!/usr/bin/env bash
# End-to-end reliability of `fourmi train` and `fourmi eval`: run directories (refused reuse,
# --overwrite, --resume of a complete run, one process per directory, stale temporary files,
# metrics after a resume), the checkpoint as the model's truth, stop signals (SIGTERM, and
# SIGUSR1 through mpirun) with a bitwise-exact resume, non-finite losses, write errors, a kill
# inside a checkpoint write, and a rank that never starts.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
FOURMI=$(readlink -f "${1:?usage: test_reliability.sh path/to/fourmi}")
WORK=$(mktemp -d /tmp/fourmi-reliability-XXXXXX)
trap 'pkill -KILL -f "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"
crc() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parameters_crc32"])' "$1" 2>/dev/null; }
wait_lines() {  # wait_lines FILE N: until FILE has N lines (30 s at most)
  for _ in $(seq 300); do [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0; sleep 0.1; done; return 1
}
MPIRUN=(mpirun --oversubscribe --allow-run-as-root --mca btl self,vader)
SMALL=(--set datagen.out=data/b --set datagen.n_train=32 --set datagen.n_test=8 --set datagen.shards=2
       --set datagen.burgers1d.resolution=256 --set datagen.burgers1d.viscosity=0.05
       --set data.train=data/b-train --set data.test=data/b-test --set data.sub=2
       --set model.width=8 --set model.modes=8 --set model.layers=2 --set model.projection_width=16
       --set train.epochs=2 --set train.batch_size=8 --set train.eval_every=1 --set train.checkpoint_every=1
       --set run.progress=false)
# Long enough that a signal lands mid-run; the stop is polled at step boundaries.
LONG=(--set train.epochs=400 --set train.eval_every=100 --set train.checkpoint_every=100)
"$FOURMI" datagen burgers1d "${SMALL[@]}" > datagen.log 2>&1 || { cat datagen.log; exit 1; }

expect_fail "unknown command lists the commands" "the commands are train, eval" "$FOURMI" trian

# --- run directories ---------------------------------------------------------------------------
"$FOURMI" train "${SMALL[@]}" --set run.name=rel > rel.log 2>&1 && pass "train" || fail "train: $(cat rel.log)"
expect_fail "fresh train into a directory holding a run" "already holds a run (checkpoints up to ckpt-000002.safetensors)" \
  "$FOURMI" train "${SMALL[@]}" --set run.name=rel
before=$(md5sum runs/rel/result.json runs/rel/metrics.jsonl)
out=$("$FOURMI" train "${SMALL[@]}" --set run.name=rel --resume 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "the run is complete (2 of train.epochs 2" <<<"$out" && [ "$before" = "$(md5sum runs/rel/result.json runs/rel/metrics.jsonl)" ] \
  && pass "--resume of a complete run says so and changes nothing" || fail "resume of a complete run (rc=$rc): $out"
"$FOURMI" train "${SMALL[@]}" --set run.name=rel --overwrite > over.log 2>&1 && [ "$(wc -l < runs/rel/metrics.jsonl)" = 2 ] \
  && pass "--overwrite starts over" || fail "--overwrite: $(cat over.log)"

# Metrics after a resume: epochs 1-3 logged, the newest checkpoint lost, resumed from epoch 2.
"$FOURMI" train "${SMALL[@]}" --set run.name=met --set train.epochs=3 --set train.checkpoint_every=2 > met.log 2>&1
rm -f runs/met/checkpoints/ckpt-000003.safetensors
touch runs/met/checkpoints/ckpt-000003.safetensors.tmp.99999999  # left by a writer that died
"$FOURMI" train "${SMALL[@]}" --set run.name=met --set train.epochs=4 --set train.checkpoint_every=2 --resume > met2.log 2>&1
epochs=$(python3 -c 'import json; print(",".join(str(json.loads(l)["epoch"]) for l in open("runs/met/metrics.jsonl")))')
[ "$epochs" = "1,2,3,4" ] && pass "metrics after a resume: every epoch once ($epochs)" || fail "metrics after resume: $epochs"
PY=${FOURMI_PYTHON:-python3}
out=$("$PY" "$HERE/check_tensorboard.py" runs runs/met 2>&1) && pass "TensorBoard after a resume: $out" \
  || fail "TensorBoard after a resume: $out"
grep -q "removed 1 temporary file" met2.log && [ ! -e runs/met/checkpoints/ckpt-000003.safetensors.tmp.99999999 ] \
  && pass "stale temporary files removed at start" || fail "stale temp files: $(cat met2.log)"

# A checkpoint read in Python with numpy alone holds bitwise the parameters result.json describes.
digest=$("$PY" "$FOURMI_SOURCE_DIR/tools/fourmi_checkpoint.py" runs/rel/checkpoints/ckpt-000002.safetensors --digest 2>&1)
[ -n "$(crc runs/rel/result.json)" ] && [ "$digest" = "$(crc runs/rel/result.json)" ] \
  && pass "the checkpoint read by tools/fourmi_checkpoint.py (numpy): the trained parameters ($digest)" \
  || fail "checkpoint in Python: '$digest' vs result.json $(crc runs/rel/result.json)"

# --- the checkpoint is the model's truth -------------------------------------------------------
expect_fail "eval with a config whose model differs from the checkpoint's" "model.layers: 2 in the checkpoint, 3 in --set" \
  "$FOURMI" eval "${SMALL[@]}" --set run.name=rel --set model.layers=3
sed -E 's/^  width: 8$/  width: 16/' runs/rel/config.yaml > other.yaml
expect_fail "resume with a config file whose model differs" "model.width: 8 in the checkpoint, 16 in other.yaml" \
  "$FOURMI" train -c other.yaml --set train.epochs=3 --resume
trained=$(grep -o 'test relative L2 error: [0-9.]*' over.log | awk '{print $5}')
forced=$("$FOURMI" eval "${SMALL[@]}" --set run.name=rel --set model.layers=3 --model-from-checkpoint 2>&1 | grep -o 'test relative L2 error [0-9.]*' | awk '{print $5}')
[ -n "$trained" ] && [ "$trained" = "$forced" ] && pass "--model-from-checkpoint evaluates the checkpoint's model ($forced)" \
  || fail "--model-from-checkpoint: trained '$trained' evaluated '$forced'"
"$FOURMI" train "${SMALL[@]}" --set run.name=gauss --set data.normalize=gaussian > gauss.log 2>&1
trained=$(grep -o 'test relative L2 error: [0-9.]*' gauss.log | awk '{print $5}')
evaluated=$("$FOURMI" eval "${SMALL[@]}" --set run.name=gauss 2>&1 | grep -o 'test relative L2 error [0-9.]*' | awk '{print $5}')
[ -n "$trained" ] && [ "$trained" = "$evaluated" ] && pass "a gaussian-normalised checkpoint evaluates with its own normalisation ($evaluated)" \
  || fail "normalisation from the checkpoint: trained '$trained' evaluated '$evaluated'"

# --- stop signals ------------------------------------------------------------------------------
"$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=sig-ref > sig-ref.log 2>&1
"$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=sig > sig.log 2>&1 &
pid=$!
wait_lines runs/sig/metrics.jsonl 3
expect_fail "a second process on a run directory in use" "in use by another fourmi process (pid $pid" \
  "$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=sig --resume
kill -TERM $pid; wait $pid; rc=$?
# The stop lands at the next step boundary: inside an epoch (ckpt-E.step-S) or, when that boundary
# is an epoch's end, an epoch checkpoint (ckpt-E). Either way the message names the file written.
stop_ckpt=$(sed -n 's/^stopping on SIGTERM after epoch [0-9]* step [0-9]*: checkpoint \([^ ]*\); continue with --resume$/\1/p' sig.log)
[ -n "$stop_ckpt" ] && [ -f "$stop_ckpt" ] && [ $rc -eq 75 ] && [ ! -e runs/sig/result.json ] \
  && pass "SIGTERM: checkpoint at the next step boundary ($(basename "$stop_ckpt")), exit 75" \
  || fail "SIGTERM (rc=$rc): $(tail -3 sig.log; ls runs/sig/checkpoints)"
"$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=sig --resume > sig2.log 2>&1
[ -n "$(crc runs/sig-ref/result.json)" ] && [ "$(crc runs/sig/result.json)" = "$(crc runs/sig-ref/result.json)" ] \
  && pass "resumed after SIGTERM: bitwise the parameters of the uninterrupted run ($(crc runs/sig/result.json))" \
  || fail "resume after SIGTERM: $(crc runs/sig/result.json) vs $(crc runs/sig-ref/result.json): $(tail -3 sig2.log)"

"${MPIRUN[@]}" -np 2 "$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=usr-ref > usr-ref.log 2>&1
"${MPIRUN[@]}" -np 2 "$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=usr > usr.log 2>&1 &
pid=$!
wait_lines runs/usr/metrics.jsonl 3
kill -USR1 $pid; wait $pid; rc=$?
grep -q "stopping on SIGUSR1" usr.log && ls runs/usr/checkpoints/ckpt-*.safetensors > /dev/null 2>&1 && [ $rc -eq 75 ] \
  && pass "SIGUSR1 to mpirun -np 2: the ranks agree, checkpoint, exit 75" || fail "SIGUSR1 under mpirun (rc=$rc): $(tail -5 usr.log)"
"${MPIRUN[@]}" -np 2 "$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=usr --auto-resume > usr2.log 2>&1
[ -n "$(crc runs/usr-ref/result.json)" ] && [ "$(crc runs/usr/result.json)" = "$(crc runs/usr-ref/result.json)" ] \
  && pass "resumed after SIGUSR1 on 2 ranks: bitwise the uninterrupted run's parameters" \
  || fail "resume after SIGUSR1: $(crc runs/usr/result.json) vs $(crc runs/usr-ref/result.json): $(tail -3 usr2.log)"

# --- damaged data ---------------------------------------------------------------------------------
# Truncated shards, checksums off: fourmi's own message naming the shard, none of HDF5's diagnostics
# (which its reader threads turn off for themselves).
cp -r data/b-train data/trunc-train
find data/trunc-train -name '*.h5' -exec truncate -s 3000 {} +
out=$("$FOURMI" train "${SMALL[@]}" --set run.name=trunc --set data.train=data/trunc-train \
  --set data.verify_checksums=false 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "trunc-train/.*\.h5: cannot open as HDF5" <<<"$out" && ! grep -q "HDF5-DIAG" <<<"$out" \
  && pass "a truncated shard: fourmi's message naming it, no HDF5 diagnostics" \
  || fail "truncated shard (rc=$rc): $out"
table_row "a truncated shard (data.verify_checksums: false)" "$rc" "$out"

# --- non-finite losses, write errors, a kill inside a write ------------------------------------
expect_fail "a loss that turns NaN/Inf" "epoch 1 step [0-9]* of 4: the training loss is NaN or Inf" \
  "$FOURMI" train "${SMALL[@]}" --set run.name=nan --set train.lr=1e38
ls runs/nan/checkpoints/*.safetensors > /dev/null 2>&1 && fail "a checkpoint was written from non-finite weights" \
  || pass "no checkpoint written from a non-finite run"

# File-size limit of 8 KB (SIGXFSZ ignored): the config and metrics fit, a checkpoint does not.
out=$(trap '' XFSZ; ulimit -f 8; "$FOURMI" train "${SMALL[@]}" --set run.name=rel --set train.epochs=3 --resume 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "runs/rel/checkpoints/ckpt-000003.safetensors: cannot write checkpoint" <<<"$out" && grep -q "File too large (errno 27)" <<<"$out" \
  && pass "a failed checkpoint write names the path and errno" || fail "write error (rc=$rc): $out"
table_row "a checkpoint write that fails (file-size limit; ENOSPC alike)" "$rc" "$out"
[ -z "$(find runs/rel -name '*.tmp.*')" ] && [ ! -e runs/rel/checkpoints/ckpt-000003.safetensors ] \
  && "$FOURMI" eval "${SMALL[@]}" --set run.name=rel > /dev/null 2>&1 \
  && pass "after the failed write: no partial file, the previous checkpoint loads" || fail "after the write error: $(ls runs/rel/checkpoints)"

mkdir -p runs/kill/checkpoints
"$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=kill --set train.checkpoint_every=5 > kill.log 2>&1 &
pid=$!
"$FOURMI_FAULT_KILL_ON_WRITE_BIN" runs/kill/checkpoints $pid 3 60 > killer.log 2>&1
wait $pid
temps=$(find runs/kill -name '*.tmp.*' | wc -l)
"$FOURMI" eval "${SMALL[@]}" --set run.name=kill > kill-eval.log 2>&1 && rc_eval=0 || rc_eval=1
"$FOURMI" train "${SMALL[@]}" "${LONG[@]}" --set run.name=kill --set train.checkpoint_every=5 --set train.epochs=20 --resume > kill2.log 2>&1
if grep -q "killed" killer.log && [ "$temps" -ge 1 ] && [ $rc_eval -eq 0 ] && grep -q "removed $temps temporary file" kill2.log \
   && [ -z "$(find runs/kill -name '*.tmp.*')" ] && [ -e runs/kill/result.json ]; then
  pass "kill -9 inside a checkpoint write: the newest checkpoint loads, the temporary file goes at the next start"
else fail "kill inside a write: $(cat killer.log) temps=$temps eval=$rc_eval $(tail -3 kill2.log)"; fi

# --- start-up: a rank that never reaches MPI_Init ----------------------------------------------
start=$(date +%s)
expect_fail "a rank that stalls before MPI initialisation" "start-up (MPI initialisation and the communicators) did not complete within 5 s" \
  timeout 120 "${MPIRUN[@]}" -np 3 "$FOURMI_FAULT_STALL_BIN" 2 90 start --set parallel.timeout_s=5
[ $(( $(date +%s) - start )) -lt 60 ] && pass "start-up stall ended the job within 60 s" || fail "start-up stall took $(( $(date +%s) - start )) s"

finish reliability
