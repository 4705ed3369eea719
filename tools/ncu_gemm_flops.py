#!/usr/bin/env python3
"""Compare the profile's analytic GEMM FLOPs with Nsight Compute's instruction counts.

Inputs: the CSV of `ncu --csv --page raw --metrics smsp__sass_thread_inst_executed_op_{fadd,fmul,ffma}_pred_on.sum`
over one training step plus one evaluation forward (GEMM-like kernels only), and the rank file of a
profiled run of the same step (`runs/<name>/profile/rank-00000.json`). The analytic side counts
each GEMM-like op (kind `linear` = real GEMM, `spectral_mix` = complex GEMM) once forward and once
backward for the training step, and once more forward for the evaluation.

Usage: ncu_gemm_flops.py NCU_CSV PROFILE_JSON --out OUT.json [--config TEXT] [--command TEXT] [--device TEXT]
"""
import argparse
import csv
import datetime
import json
import sys

METRICS = ("fadd", "fmul", "ffma")


def kernel_flops(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    # The profiled program's own output precedes ncu's table; the table starts at its "ID" header.
    start = next((i for i, r in enumerate(rows) if r and r[0] == "ID"), None)
    rows = [] if start is None else [r for r in rows[start:] if r and not r[0].startswith("==")]
    if len(rows) < 3:
        sys.exit(f"{path}: no kernel rows (did ncu run? see its stderr)")
    header = rows[0]
    try:
        name_col = header.index("Kernel Name")
        cols = {m: header.index(f"smsp__sass_thread_inst_executed_op_{m}_pred_on.sum") for m in METRICS}
    except ValueError as e:
        sys.exit(f"{path}: missing column ({e}); accepted: ncu --csv --page raw with the fadd/fmul/ffma metrics")
    out = []
    for r in rows[2:]:  # rows[1] holds the units
        count = {m: float(r[c].replace(",", "")) for m, c in cols.items()}
        out.append({"kernel": r[name_col], "flops": count["fadd"] + count["fmul"] + 2 * count["ffma"]})
    return out


def is_complex(kernel):
    k = kernel.lower()
    return "cf32" in k or "cgemm" in k or "complex" in k


def analytic(profile_path):
    with open(profile_path) as f:
        ops = json.load(f)["ops"]
    real = cplx = 0.0
    for op in ops:
        if op["kind"] not in ("linear", "spectral_mix"):
            continue
        calls = op.get("calls_per_step", 1)
        n = calls * (2 if op["phase"] == "forward" else 1)  # forward again in the evaluation
        if op["kind"] == "linear":
            real += n * op["flops"]
        else:
            cplx += n * op["flops"]
    return real, cplx


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ncu_csv")
    ap.add_argument("profile_json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", default="")
    ap.add_argument("--command", default="")
    ap.add_argument("--device", default="")
    a = ap.parse_args()
    kernels = kernel_flops(a.ncu_csv)
    ncu_real = sum(k["flops"] for k in kernels if not is_complex(k["kernel"]))
    ncu_cplx = sum(k["flops"] for k in kernels if is_complex(k["kernel"]))
    an_real, an_cplx = analytic(a.profile_json)
    pct = lambda n, m: 100.0 * (n - m) / m if m else None
    res = {
        "device": a.device, "config": a.config, "command": a.command,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "what": "FLOPs of GEMM-like kernels in one training step plus one evaluation forward of the same batch",
        "ncu_metrics": "fadd + fmul + 2 * ffma (smsp__sass_thread_inst_executed_op_*_pred_on.sum)",
        "kernel_launches": len(kernels),
        "analytic_gflop": {"total": (an_real + an_cplx) / 1e9, "real_gemm": an_real / 1e9, "complex_gemm": an_cplx / 1e9},
        "ncu_gflop": {"total": (ncu_real + ncu_cplx) / 1e9, "real_gemm": ncu_real / 1e9, "complex_gemm": ncu_cplx / 1e9},
        "difference_pct": {"total": pct(ncu_real + ncu_cplx, an_real + an_cplx), "real_gemm": pct(ncu_real, an_real),
                           "complex_gemm": pct(ncu_cplx, an_cplx)},
        "kernels": kernels,
    }
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    for k in ("total", "real_gemm", "complex_gemm"):
        print(f"{k:13s} analytic {res['analytic_gflop'][k]:9.2f} GFLOP  ncu {res['ncu_gflop'][k]:9.2f} GFLOP  "
              f"difference {res['difference_pct'][k]:+.1f} %")


if __name__ == "__main__":
    main()
