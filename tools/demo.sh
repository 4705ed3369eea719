#!/usr/bin/env bash
# demo.sh — what `make demo` runs: datagen → train → eval on the embedded default config.
set -euo pipefail
FOURMI=${1:-build/bin/fourmi}
PYTHON=${2:-python3}
echo "== fourmi datagen burgers1d (embedded configs/debug.yaml)"
"$FOURMI" datagen burgers1d
echo "== fourmi train"
"$FOURMI" train
echo "== fourmi eval"
"$FOURMI" eval
echo "== fourmi report (tables, roofline chart, merged trace)"
FOURMI_PYTHON="$PYTHON" "$FOURMI" report runs/demo --out runs/demo/report
echo
echo "demo finished: metrics runs/demo/metrics.jsonl, checkpoints runs/demo/checkpoints/, result runs/demo/result.json"
echo "               profile runs/demo/profile/, report runs/demo/report/report.md and roofline-demo.png"
