#!/usr/bin/env bash
# io.sh — reader throughput against training (bench/results/io.json, docs/benchmarks.md): the Burgers
# paper dataset (configs/burgers1d.yaml: 1000 + 200 solves at 8192 points, and the stored 1024-point
# level), the disk's direct-I/O read rate over its shard files, `fourmi bench io` at 1 and 4 ranks
# reading the stored level and reading the full resolution, and a profiled 4-GPU training (data wait).
#   bash bench/gpu/io.sh OUT          (needs 4 GPUs)
# Writes OUT/io.json: bench io's runs, the disk's read rate, the dataset's size and the training's
# step split, with command, machine, date.
source bench/gpu/common.sh
need_gpus 4
build_fourmi
cd "$W" || exit 1
burgers_data
step "the disk's direct-I/O read rate over the full-resolution shards (8 readers at once, page cache bypassed)"
t0=$(date +%s.%N)
for f in data/burgers1d-train/*.h5; do dd if="$f" of=/dev/null bs=8M iflag=direct 2> /dev/null & done
wait
t1=$(date +%s.%N)
python3 - "$t0" "$t1" "$W/res/disk.json" data/burgers1d-train <<'PY'
import glob, json, os, sys
t0, t1, out, d = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
full = sum(os.path.getsize(f) for f in glob.glob(f"{d}/*.h5"))
level = sum(os.path.getsize(f) for f in glob.glob(f"{d}/sub*/*.h5"))
r = {"direct_read_bytes": full, "direct_read_s": t1 - t0, "direct_read_gb_per_s": full / 1e9 / (t1 - t0),
     "train_split_bytes_full_resolution": full, "train_split_bytes_stored_level": level}
json.dump(r, open(out, "w"), indent=1)
print(json.dumps(r))
PY
for levels in true false; do
  for n in 1 4; do
    step "fourmi bench io, $n rank(s), data.stored_levels=$levels"
    timeout 120 "$REPO/launch/mpirun.sh" -n $n bench io -c "$REPO/configs/burgers1d.yaml" \
      --set data.stored_levels=$levels --out "$W/res/bench_io.json" 2>&1 | grep -E "bench io|cache:" | tail -3
  done
done
step "fourmi train, Burgers paper setting, 4 GPUs, profiled"
timeout 150 "$REPO/launch/mpirun.sh" -n 4 train -c "$REPO/configs/burgers1d.yaml" --set train.epochs=20 \
  --set train.batch_size=80 --set run.progress=false --set profile.enabled=true --set run.name=burgers-4gpu 2>&1 \
  | grep -E "profile:|test rel" | tail -3
json_keys runs/burgers-4gpu/profile/rank-00000.json "$W/res/train_4gpu_steps.json" steps
merge_json "$OUT/io.json" "$W/res"
