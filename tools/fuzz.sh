#!/usr/bin/env bash
# fuzz.sh — fourmi's libFuzzer harnesses (tests/fuzz/fuzz_<name>.cpp), built with clang 14 under
# AddressSanitizer and UndefinedBehaviorSanitizer against a built tree, and run.
#   bash tools/fuzz.sh BUILD build [NAME...]        compile BUILD/fuzz/fuzz_<name> (every harness by default)
#   bash tools/fuzz.sh BUILD smoke [RUNS]           every harness over its committed corpus, then RUNS
#                                                   (default 2000) new inputs each (the shard reader:
#                                                   its corpus only): the CI run
#   bash tools/fuzz.sh BUILD run NAME RUNS          a campaign of RUNS executions of one harness from its
#                                                   corpus; prints libFuzzer's summary, writes crashes to
#                                                   BUILD/fuzz/NAME-findings, merges new coverage into the corpus;
#                                                   FUZZ_FLAGS adds libFuzzer flags (e.g. -fork=1 -ignore_crashes=1)
# The parsing code under test (the harness's own sources below) is compiled with the sanitizers;
# the rest of fourmi and LibTorch are linked from BUILD as built there.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:?usage: fuzz.sh BUILD build|smoke|run ...}")
MODE=${2:-smoke}
CLANG=${CLANG:-clang++-14}
COMPILE="$CLANG"
command -v ccache > /dev/null && COMPILE="ccache $CLANG"
OUT=$BUILD/fuzz
HARNESSES=(config manifest shard_reader checkpoint)
sources() {  # the fourmi sources each harness tests, compiled instrumented
  case $1 in
    config) echo src/config/config_loader.cpp ;;
    manifest) echo src/data/manifest.cpp src/util/fs.cpp ;;
    shard_reader) echo src/data/shard_file.cpp src/util/fs.cpp ;;
    checkpoint) echo src/train/checkpoint.cpp src/util/fs.cpp ;;
  esac
}
# LibTorch and fourmi both carry fmt and other headers: ODR reports between them are not findings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_odr_violation=0}
# Leak detection stays on where the code under test owns every allocation; LibTorch's zip reader
# (miniz) leaks its central directory on a malformed archive, and HDF5 keeps library-wide caches.
leaks() { case $1 in checkpoint|shard_reader) echo 0 ;; *) echo 1 ;; esac; }
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

build() {
  mkdir -p "$OUT/obj"
  command -v "$CLANG" > /dev/null || { echo "fuzz.sh: $CLANG not found (Debian: clang-14)" >&2; exit 1; }
  # Compile flags of each source as BUILD compiles it, with clang and the sanitizers instead of
  # GCC's precompiled header; the link line of a test binary without GoogleTest.
  python3 - "$BUILD" "$ROOT" "$OUT" "$COMPILE" <<'PY'
import json, re, shlex, sys
build, root, out, clang = sys.argv[1:5]
cc = {c["file"]: c for c in json.load(open(f"{build}/compile_commands.json"))}
ref = cc[f"{root}/src/train/checkpoint.cpp"]["command"]
def flags(cmd):
    a = shlex.split(cmd)[1:]
    keep, skip = [], False
    for i, t in enumerate(a):
        if skip: skip = False; continue
        if t in ("-o", "-c", "-include"): skip = True; continue
        if t in ("-Winvalid-pch", "-O3", "-O2") or t.startswith("-march"): continue
        keep.append(t)
    return keep
san = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=fuzzer-no-link,address,undefined",
       "-fno-sanitize-recover=all", "-fno-sanitize=vptr"]
with open(f"{out}/compile.sh", "w") as f:
    f.write("set -e\n")
    for src, c in cc.items():
        if src.startswith(root + "/src/"):
            rel = src[len(root) + 1:]
            obj = f"{out}/obj/{rel.replace('/', '_')}.o"
            f.write(f"compile_{rel.replace('/', '_').replace('.', '_')}() {{ {clang} {' '.join(map(shlex.quote, flags(c['command']) + san))} -c {src} -o {obj}; }}\n")
    f.write(f"compile_harness() {{ {clang} {' '.join(map(shlex.quote, flags(ref) + san))} -c {root}/tests/fuzz/fuzz_$1.cpp -o {out}/obj/fuzz_$1.o; }}\n")
ninja = open(f"{build}/build.ninja").read()
m = re.search(r"^build bin/test_train[ :].*?\n((?:  .*\n)+)", ninja, re.M)
libs = re.search(r"  LINK_LIBRARIES = (.*)", m.group(1)).group(1)
libs = " ".join(t for t in shlex.split(libs) if "gtest" not in t and "gmock" not in t)
libs = " ".join(t if t.startswith(("/", "-")) else f"{build}/{t}" for t in shlex.split(libs))
open(f"{out}/link-libs.txt", "w").write(libs)
PY
  source "$OUT/compile.sh"
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=("${HARNESSES[@]}")
  for h in "${names[@]}"; do
    objs=("$OUT/obj/fuzz_$h.o")
    compile_harness "$h"
    for s in $(sources "$h"); do
      fn=compile_$(echo "$s" | tr '/.' '__'); "$fn"; objs+=("$OUT/obj/$(echo "$s" | tr '/' '_').o")
    done
    # shellcheck disable=SC2046
    "$CLANG" -fsanitize=fuzzer,address,undefined "${objs[@]}" $(cat "$OUT/link-libs.txt") -o "$OUT/fuzz_$h"
    echo "built $OUT/fuzz_$h"
  done
}

run_one() {  # run_one NAME RUNS [extra libFuzzer flags]
  local h=$1 runs=$2; shift 2
  local corpus=$ROOT/tests/fuzz/corpus/$h
  mkdir -p "$OUT/$h-findings" "$OUT/$h-new"
  (cd "$OUT/$h-findings" && "$OUT/fuzz_$h" -runs="$runs" -timeout=10 -rss_limit_mb=4096 -max_len=65536 -detect_leaks="$(leaks "$h")" \
    -print_final_stats=1 "$@" "$OUT/$h-new" "$corpus")
}

case "$MODE" in
  build) build "${@:3}" ;;
  smoke)
    [ -x "$OUT/fuzz_checkpoint" ] || build
    # The shard reader replays its corpus only: new inputs soon reach HDF5's own memory errors,
    # which fourmi cannot fix (docs/reliability.md, Fuzzing).
    for h in "${HARNESSES[@]}"; do
      runs=${3:-2000}
      [ "$h" = shard_reader ] && runs=0
      run_one "$h" "$runs" -seed=1 2>&1 | tail -3
    done ;;
  run)
    h=${3:?harness name}; runs=${4:?executions}
    [ -x "$OUT/fuzz_$h" ] || build
    start=$(date +%s)
    set +e
    # shellcheck disable=SC2086
    run_one "$h" "$runs" ${FUZZ_FLAGS:-} > "$OUT/$h-campaign.log" 2>&1
    rc=$?
    set -e
    tail -20 "$OUT/$h-campaign.log"
    # The campaign's figures, merged into bench/results/fuzz.json (one entry per harness).
    python3 - "$ROOT/bench/results/fuzz.json" "$h" "$runs" "$rc" "$(( $(date +%s) - start ))" "$OUT/$h-campaign.log" \
      "$OUT/$h-findings" "bash tools/fuzz.sh BUILD run $h $runs" <<'PY'
import datetime, json, os, platform, re, sys
path, h, runs, rc, seconds, log, findings, command = sys.argv[1:9]
text = open(log, errors="replace").read()
done = re.findall(r"Done (\d+) runs in (\d+) second", text)
cov = re.findall(r"cov: (\d+)", text)
doc = json.load(open(path)) if os.path.exists(path) else {"schema": "fourmi-fuzz/1", "runs": {}}
doc["runs"][h] = {
    "harness": f"tests/fuzz/fuzz_{h}.cpp", "executions": int(done[-1][0]) if done else None,
    "seconds": int(seconds), "exit_status": int(rc),
    "crashes": len([f for f in os.listdir(findings) if f.startswith(("crash-", "timeout-", "oom-", "leak-"))]),
    "edges_covered": int(cov[-1]) if cov else None, "sanitizers": "address,undefined",
    "machine": f"{platform.node()} ({os.cpu_count()} cores)", "date": datetime.date.today().isoformat(),
    "command": command}
json.dump(doc, open(path, "w"), indent=2)
open(path, "a").write("\n")
PY
    [ "$rc" -eq 0 ] || { echo "fuzz_$h: a finding, see $OUT/$h-findings" >&2; exit 1; }
    # Keep the corpus small: only inputs that add coverage go back into the repository.
    mkdir -p "$OUT/$h-merged"
    "$OUT/fuzz_$h" -merge=1 "$OUT/$h-merged" "$ROOT/tests/fuzz/corpus/$h" "$OUT/$h-new" > /dev/null 2>&1
    rsync -a "$OUT/$h-merged/" "$ROOT/tests/fuzz/corpus/$h/" 2>/dev/null || cp -n "$OUT/$h-merged/"* "$ROOT/tests/fuzz/corpus/$h/" ;;
  *) echo "usage: fuzz.sh BUILD build|smoke [RUNS]|run NAME RUNS" >&2; exit 2 ;;
esac
