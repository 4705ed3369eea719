#!/usr/bin/env bash
# fno_step.sh — the FNO-2D training step on one GPU, fourmi side by side with the PyTorch reference
# (eager and CUDA-graph) and neuraloperator, plus the spectral layer's fft/dft crossover.
#   bash bench/gpu/fno_step.sh OUT
# Writes OUT/fno_step.json (bench/results/fno_step.json's layout: device, date, commands, runs, and
# epochs: the paper's Burgers FNO-1D and Darcy FNO-2D trained by `fourmi train` against a PyTorch loop with the data
# held on the GPU, eager and graph-captured) and
# OUT/spectral_crossover.json (fourmi-bench-spectral's sweep). Needs .deps/*.deb and, for
# neuraloperator, .deps/wheels/ (docs/benchmarks.md, 'Preparing a GPU run').
source bench/gpu/common.sh
shift
need_gpus 1
build_fourmi fourmi-bench-spectral
SPECTRAL=$REPO/build-gpu/bin/fourmi-bench-spectral

step "spectral layer crossover: 2D, width 64, batch 16, TF32 and fp32"
"$SPECTRAL" --dim 2 --grids 64,128,256,512 --modes 8,12,16,32,48,64,96,128 --width 64 --batch 16 \
  --json "$OUT/spectral_crossover.json" | tail -40
"$SPECTRAL" --dim 2 --grids 128,256 --modes 8,12,16,24,32,48 --width 64 --batch 16 --tf32 false \
  --json "$OUT/spectral_crossover.json" | tail -12
"$SPECTRAL" --dim 1 --grids 1024,4096 --modes 16,64,256 --width 64 --batch 20 --json "$OUT/spectral_crossover.json" | tail -6
"$SPECTRAL" --dim 3 --grids 32,64 --modes 8,16 --width 20 --batch 10 --json "$OUT/spectral_crossover.json" | tail -4

step "fourmi bench peak (the roofline bound's ceilings)"
timeout 180 "$F" bench peak --out "$W/res/peaks.json" 2>&1 | tail -5
step "fourmi-bench-dp, 1 GPU: paper (64²), medium, large; fft and dft transforms, CUDA graph on and off"
for t in fft dft; do
  for g in true false; do
    "$DP" --configs configs/fno2d-paper.yaml --grid 64 --set model.spectral_transform=$t --set train.cuda_graph=$g \
      --peaks "$W/res/peaks.json" --json "$W/res/fourmi_paper_${t}_graph$g.json" | tail -1
    "$DP" --configs configs/fno2d-medium.yaml,configs/fno2d-large.yaml --set model.spectral_transform=$t \
      --set train.cuda_graph=$g --peaks "$W/res/peaks.json" --json "$W/res/fourmi_ml_${t}_graph$g.json" | tail -2
  done
done

step "PyTorch reference: eager and CUDA-graph step"
python3 "$REFERENCE" step --configs paper,medium,large --json "$W/res/torch.json" | tail -3
step "neuraloperator 2.0.0 (original architecture)"
if ls "$REPO"/.deps/wheels/neuraloperator-*.whl > /dev/null 2>&1; then
  pip install -q --no-index --no-deps --target /tmp/neuralop "$REPO"/.deps/wheels/*.whl > "$W/pip.log" 2>&1 || tail -5 "$W/pip.log"
  PYTHONPATH=/tmp/neuralop python3 "$REFERENCE" neuralop --configs paper,medium,large --json "$W/res/neuralop.json" | tail -3
fi

step "the FNO paper's Burgers (FNO-1D) and Darcy (FNO-2D, 85²) epochs: fourmi train, graph on and off"
burgers_data
darcy_data
for bench in burgers darcy; do
  config=configs/burgers1d.yaml
  [ "$bench" = darcy ] && config=configs/darcy2d.yaml
  for g in true false; do
    (cd "$W" && timeout 120 "$F" train -c "$REPO/$config" --set train.epochs=6 --set train.eval_every=1000 \
      --set train.checkpoints=false --set run.progress=false --set train.cuda_graph=$g --set run.name=$bench-graph$g \
      > "$W/$bench-graph$g.log" 2>&1) || tail -5 "$W/$bench-graph$g.log"
    cp "$W/runs/$bench-graph$g/metrics.jsonl" "$W/res/${bench}_graph$g.jsonl" 2>/dev/null
  done
done
step "PyTorch Burgers and Darcy loops, data on the GPU, eager and CUDA graph"
python3 "$REFERENCE" epoch --json "$W/res/torch_epoch.json" | tail -2

python3 - "$OUT/fno_step.json" "$W/res" "$COMMAND" "$MACHINE" "$DATE" <<'PY'
import json, os, sys
out, res, command, machine, date = sys.argv[1:]
load = lambda f: json.load(open(os.path.join(res, f))) if os.path.exists(os.path.join(res, f)) else None
fourmi = {}
for t in ("fft", "dft"):
    for g in ("true", "false"):
        for f in (f"fourmi_paper_{t}_graph{g}.json", f"fourmi_ml_{t}_graph{g}.json"):
            for r in (load(f) or {}).get("results", []):
                fourmi[(r["config"].replace("fno2d-", ""), t, g)] = r
ref = {r["config"]: r for r in (load("torch.json") or {}).get("results", [])}
nop = {r["config"]: r for r in (load("neuralop.json") or {}).get("results", [])}
runs = []
for name in ("paper", "medium", "large"):
    dft = fourmi.get((name, "dft", "true"))
    if not dft or name not in ref:
        continue
    ms = lambda t, g: fourmi[(name, t, g)]["step_ms"] if (name, t, g) in fourmi else None
    runs.append({"config": name, "precision": "tf32", "grid": dft["grid"], "batch": dft["per_rank_batch"],
                 "fourmi_ms": dft["step_ms"], "fourmi_dft_eager_ms": ms("dft", "false"),
                 "fourmi_fft_graph_ms": ms("fft", "true"), "fourmi_fft_eager_ms": ms("fft", "false"),
                 "torch_ms": ref[name]["step_ms"], "torch_graph_ms": ref[name].get("graph_step_ms"),
                 "neuralop_ms": nop[name]["step_ms"] if name in nop else None,
                 "fourmi_peak_bytes": dft["peak_mem_bytes"], "torch_peak_bytes": ref[name]["peak_mem_bytes"],
                 "roofline_bound_ms": dft.get("roofline_bound_ms"),
                 "roofline_bound_pct": dft.get("roofline_bound_pct"),
                 "speedup_vs_torch": ref[name]["step_ms"] / dft["step_ms"]})
def epoch_s(name):  # mean epoch seconds of a fourmi run, its first epoch (warm-up, capture) left out
    f = os.path.join(res, name)
    if not os.path.exists(f):
        return None
    rows = [json.loads(line) for line in open(f) if line.strip()]
    return sum(r["epoch_seconds"] for r in rows[1:]) / max(len(rows) - 1, 1)
epochs = []
torch_epoch = {r["benchmark"]: r for r in (load("torch_epoch.json") or {}).get("results", [])}
for bench in ("burgers", "darcy"):
    graphed = epoch_s(f"{bench}_graphtrue.jsonl")
    if bench in torch_epoch and graphed:
        t = torch_epoch[bench]
        epochs.append({"benchmark": bench, "fourmi_s": graphed, "fourmi_eager_s": epoch_s(f"{bench}_graphfalse.jsonl"),
                       "torch_s": t["epoch_s"], "torch_graph_s": t["graph_epoch_s"],
                       "speedup_vs_torch": t["epoch_s"] / graphed})
doc = {"device": machine, "date": date, "commands": [command], "runs": runs, "epochs": epochs}
json.dump(doc, open(out, "w"), indent=1)
for r in runs + epochs:
    print(json.dumps(r))
PY
