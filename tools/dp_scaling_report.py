#!/usr/bin/env python3
"""dp_scaling_report.py — turn the merged output of bench/gpu/dp_weak_scaling.sh (dp_scaling_raw.json)
into dp_scaling.json and an efficiency-against-GPUs plot (PNG and SVG).

  python3 tools/dp_scaling_report.py dp_scaling_raw.json --out DIR --command "..." --date ... [--machine ...]
Nothing is computed here that was not measured: step times and bandwidths are copied from the
run's JSON; efficiency is t(1 GPU) / t(N GPUs) for weak scaling.
"""
import argparse, json, os

ap = argparse.ArgumentParser()
ap.add_argument("merged")
ap.add_argument("--out", default="bench/results")
ap.add_argument("--command", default="bash bench/gpu/dp_weak_scaling.sh OUT")
ap.add_argument("--date", required=True)
ap.add_argument("--machine", default=None)
a = ap.parse_args()
m = json.load(open(a.merged))
runs, allreduce = [], []
counts = sorted(int(k.split("np")[1]) for k in m if k.startswith("fourmi_dp_np"))
for n in counts:
    f = {r["config"]: r for r in m[f"fourmi_dp_np{n}"]["results"]}
    d = {r["config"]: r for r in m.get(f"ddp_np{n}", {}).get("results", [])}
    for cfg, ddp_name in (("fno2d-medium", "medium"), ("fno2d-large", "large")):
        if cfg in f:
            runs.append({"config": ddp_name, "gpus": n, "fourmi_step_ms": f[cfg]["step_ms"],
                         "ddp_step_ms": d.get(ddp_name, {}).get("step_ms"),
                         "fourmi_peak_mem_bytes": f[cfg].get("peak_mem_bytes"),
                         "ddp_peak_mem_bytes": d.get(ddp_name, {}).get("peak_mem_bytes")})
    nccl = {r["bytes"]: r for r in m.get(f"nccl_allreduce_np{n}", {}).get("results", [])}
    for r in m[f"fourmi_dp_np{n}"].get("allreduce", []):
        if n > 1:
            allreduce.append({"bytes": r["bytes"], "gpus": n, "fourmi_busbw_gbs": r["busbw_gbs"],
                              "nccl_busbw_gbs": nccl.get(r["bytes"], {}).get("busbw_gbs")})
for r in runs:
    base = [x for x in runs if x["config"] == r["config"] and x["gpus"] == 1]
    if base:
        r["fourmi_efficiency"] = base[0]["fourmi_step_ms"] / r["fourmi_step_ms"]
        if r["ddp_step_ms"] and base[0]["ddp_step_ms"]:
            r["ddp_efficiency"] = base[0]["ddp_step_ms"] / r["ddp_step_ms"]
out = {"device": m["gpus"][0] if m.get("gpus") else "unknown", "gpus_seen": m.get("gpus"), "date": a.date,
       "command": a.command, "runs": runs, "allreduce": allreduce,
       "reference": "bench/reference/torch_fno.py ddp / allreduce, PyTorch eager, TF32 allowed, same machine, same run"}
if a.machine:
    out["machine"] = a.machine
os.makedirs(a.out, exist_ok=True)
json.dump(out, open(os.path.join(a.out, "dp_scaling.json"), "w"), indent=1)
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for cfg in ("medium", "large"):
        rs = [r for r in runs if r["config"] == cfg and "fourmi_efficiency" in r]
        ax.plot([r["gpus"] for r in rs], [100 * r["fourmi_efficiency"] for r in rs], "o-", label=f"fourmi {cfg}")
        rs = [r for r in rs if "ddp_efficiency" in r]
        ax.plot([r["gpus"] for r in rs], [100 * r["ddp_efficiency"] for r in rs], "s--", label=f"DDP {cfg}")
    ax.set_xlabel("GPUs"); ax.set_ylabel("weak-scaling efficiency (%)"); ax.set_xticks(counts)
    ax.axhline(99, color="grey", lw=0.5); ax.legend(); ax.set_title(out["device"])
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(a.out, f"dp_scaling.{ext}"))
except ImportError:
    print("matplotlib missing: no plot")
print(json.dumps(runs, indent=1))
print(json.dumps(allreduce, indent=1))
