"""markdown.py — report.md: the scaling table, then one section per run with its ranks' step
breakdown, its slowest ops against the roofline (rank 0), and its collectives."""
from .scaling import COLUMNS


def _fmt(v, spec="{:.3g}"):
    if v is None:
        return "—"
    return spec.format(v)


def _table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _bytes(n):
    """Decimal units, like the GB/s of the bandwidths."""
    for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if n >= scale:
            return f"{n / scale:.4g} {unit}"
    return f"{n:g} B"


def scaling_section(rows, mode, scaling_chart):
    shown = [(key, header, spec) for key, _, header, spec in COLUMNS if header]
    out = ["## Scaling", "",
           _table([h for _, h, _ in shown], [[_fmt(row[k], spec) for k, _, spec in shown] for row in rows]), ""]
    base = rows[0]
    rule = ("t_base / t_N (batch per rank fixed)" if mode == "weak"
            else "t_base × N_base / (t_N × N) (global batch fixed)")
    out.append(f"Step times are per-rank means over the profiled steps; throughput and efficiency use the "
               f"slowest rank's. Efficiency ({mode} scaling) against {base['run']} ({base['ranks']} rank(s)): {rule}. "
               "Spread: (max − min) / mean of the ranks' step times. Compute, comm exposed, data wait and other "
               "are means over ranks. Profiler overhead: the worst rank's `steps.overhead_pct` (profiled against "
               "plain steps of the same run; — when the run was too short to measure it).")
    out.append("")
    if scaling_chart:
        out += [f"![scaling]({scaling_chart})", ""]
    return out


def run_section(run, ops, comm, comm_summary, roofline_chart, trace_file):
    p0 = run.profiles[0]
    m = p0.get("model", {})
    steps = p0["steps"]
    peaks = p0.get("peaks", {})
    hosts = sorted({p["host"] for p in run.profiles})
    out = [f"## {run.name}", "",
           f"- directory: `{run.path}`",
           f"- {run.ranks} rank(s) on {', '.join(hosts)}, grid {run.grid} (data × modes), backend {p0['backend']}, "
           f"device {p0['device']}",
           f"- model: FNO-{m.get('dim', '?')}D, width {m.get('width', '?')}, modes {m.get('modes', '?')}, "
           f"{m.get('layers', '?')} layers, resolution {m.get('resolution', '?')}",
           f"- global batch {run.global_batch} ({p0.get('batch_per_rank', '?')} per rank); "
           f"{steps.get('profiled', '?')} profiled steps after {steps.get('warmup', '?')} warm-up; "
           f"profiling overhead {_fmt(steps.get('overhead_pct'), '{:.1f}')}% (the profiler's host calls "
           f"{_fmt(steps.get('profiler_host_ms'), '{:.3f}')} ms per profiled step)",
           f"- peaks ({peaks.get('source', 'no source given')}): "
           + ", ".join(f"{k.split('_')[0]} {_fmt(v / 1e12, '{:.1f}')} TFLOP/s" for k, v in peaks.items()
                       if k.endswith("_flops") and isinstance(v, (int, float)) and v)
           + (f", memory {_fmt(peaks['mem_bytes_per_s'] / 1e9, '{:.0f}')} GB/s" if peaks.get("mem_bytes_per_s") else "")]
    test = run.result.get("test_rel_l2")
    if isinstance(test, (int, float)):
        out.append(f"- result: test relative L2 {test:.5f} after {run.result.get('epochs_run', '?')} epoch(s), "
                   f"{_fmt(run.result.get('seconds'), '{:.1f}')} s")
    out += ["", "### Step time by rank", "",
            _table(["rank", "host", "step ms mean", "min", "max", "compute", "comm exposed", "data wait", "other"],
                   [[p["rank"], p["host"]] + [_fmt(p["steps"][k], "{:.2f}") for k in
                    ("step_ms_mean", "step_ms_min", "step_ms_max", "compute_ms", "comm_exposed_ms",
                     "data_wait_ms", "other_ms")] for p in run.profiles]), ""]
    out += ["### Top ops (rank 0, per step)", ""]
    if ops:
        out.append(_table(["op", "phase", "time ms", "GFLOP/s", "GB/s", "intensity (FLOP/B)", "bound", "% roofline"],
                          [[f"`{o['name']}`", o["phase"], _fmt(o["time_ms"], "{:.3f}"),
                            _fmt(o["flops_per_s"] / 1e9, "{:.1f}"), _fmt(o["bytes_per_s"] / 1e9, "{:.1f}"),
                            _fmt(o["intensity"], "{:.2f}"), o["bound"] or "—", _fmt(o["roofline_pct"], "{:.1f}")]
                           for o in ops]))
    else:
        out.append("No ops recorded.")
    out.append("")
    if roofline_chart:
        out += [f"![roofline of {run.name}]({roofline_chart})", ""]
    out += ["### Communication (all ranks)", ""]
    if comm:
        out.append(_table(["op", "group", "bytes", "ranks", "calls/rank", "mean ms", "max ms", "algbw GB/s",
                           "busbw GB/s", "overlap"],
                          [[a["op"], a["group"], _bytes(a["bytes"]), a["ranks"], _fmt(a["calls_per_rank"], "{:g}"),
                            _fmt(a["mean_ms"], "{:.3f}"), _fmt(a["max_ms"], "{:.3f}"), _fmt(a["algbw_gbs"], "{:.1f}"),
                            _fmt(a["busbw_gbs"], "{:.1f}"), _fmt(a["overlap_pct"], "{:.0f}%")] for a in comm]))
        out += ["", "algbw = bytes / mean duration; busbw as in nccl-tests (all_reduce × 2(n−1)/n, all_gather and "
                "reduce_scatter × (n−1)/n)."]
    else:
        out.append("No collectives recorded.")
    if comm_summary:
        labels = {"total_ms_per_step": "collectives {:.2f} ms", "exposed_ms_per_step": "exposed {:.2f} ms",
                  "overlap_pct": "overlapped {:.0f}%"}
        out += ["", "Per step, mean over ranks: "
                + ", ".join(labels[k].format(v) for k, v in comm_summary.items()) + "."]
    out.append("")
    out.append(f"Timeline: `{trace_file}` (all ranks; open in https://ui.perfetto.dev or chrome://tracing)."
               if trace_file else "Timeline: the run wrote no traces (profile/trace-rank-NNNNN.json).")
    out.append("")
    return out


def document(title, mode, run_paths, rows, scaling_chart, sections):
    out = [f"# {title}", "", f"{len(rows)} run(s), {mode} scaling: " + ", ".join(f"`{p}`" for p in run_paths), ""]
    out += scaling_section(rows, mode, scaling_chart)
    for s in sections:
        out += s
    return "\n".join(out).rstrip() + "\n"
