#!/usr/bin/env python3
"""fourmi_report.py — the engine behind `fourmi report`: profile and scaling report of training runs.

  python3 tools/fourmi_report.py RUN [RUN...] --out DIR [--mode auto|weak|strong] [--title T]

Each RUN is a run directory (<run.dir>/<run.name>) of `fourmi train --set profile.enabled=true`:
RUN/result.json, RUN/profile/rank-NNNNN.json (fourmi.profile/1) and RUN/profile/trace-rank-NNNNN.json.
Writes into DIR:
  report.md, report.csv, report.json   scaling table (one row per run, by ranks) and per-run details
  roofline-<run>.png/.svg              rank 0's ops against the device's roofline
  scaling.png/.svg                     efficiency and throughput against ranks (two runs or more)
  trace-<run>.json                     the ranks' Chrome traces merged, one process per rank
--mode auto: weak when every run has the same batch per rank, strong when the same global batch.
Exit status 2 when a run cannot be read (the message names the file and the key).
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from report import comm, markdown, ops, scaling, tables, trace  # noqa: E402
from report.runs import ReportError, load_run  # noqa: E402

try:
    from report import charts  # noqa: E402
except ImportError as e:  # matplotlib missing: reported by main() as an error
    charts, CHARTS_MISSING = None, str(e)

TOP_OPS = 15


def safe_name(name):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="fourmi report", description="Profile and scaling report of fourmi training runs.")
    ap.add_argument("runs", nargs="+", metavar="RUN", help="run directory (<run.dir>/<run.name>)")
    ap.add_argument("--out", required=True, metavar="DIR", help="directory for the report (created)")
    ap.add_argument("--mode", choices=("auto", "weak", "strong"), default="auto",
                    help="weak: batch per rank fixed; strong: global batch fixed (default: auto, from the batches)")
    ap.add_argument("--title", default="fourmi report", help="title of report.md")
    return ap.parse_args(argv)


def report_run(run, out_dir):
    """Charts and merged trace of one run; returns (markdown section, details for report.json)."""
    name = safe_name(run.name)
    top = ops.top_ops(run.profiles[0], TOP_OPS)
    aggregated = comm.aggregate(run.profiles)
    comm_summary = comm.summary(run.profiles)
    chart_files = charts.roofline(run.name, run.profiles[0], ops.all_ops(run.profiles[0]),
                                  os.path.join(out_dir, f"roofline-{name}"))
    trace_file = f"trace-{name}.json"
    if not trace.merge(run, os.path.join(out_dir, trace_file)):
        trace_file = None
    section = markdown.run_section(run, top, aggregated, comm_summary, f"roofline-{name}.png", trace_file)
    details = {"run": run.name, "path": run.path, "ranks": run.ranks, "grid": run.grid,
               "hosts": sorted({p["host"] for p in run.profiles}), "backend": run.profiles[0]["backend"],
               "device": run.profiles[0]["device"], "model": run.profiles[0].get("model"),
               "peaks": run.profiles[0].get("peaks"), "result": run.result,
               "top_ops": top, "comm": aggregated, "comm_summary": comm_summary,
               "files": {"roofline": [os.path.basename(f) for f in chart_files], "trace": trace_file}}
    return section, details


def main(argv=None):
    args = parse_args(argv)
    try:
        runs = [load_run(p) for p in args.runs]
        names = [r.name for r in runs]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ReportError(f"two runs are named {dup[0]!r} ({', '.join(r.path for r in runs if r.name == dup[0])}); "
                              "their outputs would collide")
        mode = scaling.pick_mode(runs, args.mode)
        if charts is None:
            raise ReportError(f"the charts need matplotlib ({CHARTS_MISSING}); the venv of `make setup` has it "
                              "(~/.cache/fourmi/venv/bin/python)")
        rows = scaling.table(runs, mode)
        by_name = {r.name: r for r in runs}
        ordered = [by_name[row["run"]] for row in rows]
        os.makedirs(args.out, exist_ok=True)
        sections, details = zip(*(report_run(run, args.out) for run in ordered))
        scaling_chart = None
        if len(rows) >= 2 and charts.scaling(rows, mode, os.path.join(args.out, "scaling")):
            scaling_chart = "scaling.png"
    except ReportError as e:
        print(f"fourmi report: {e}", file=sys.stderr)
        return 2
    tables.write_csv(os.path.join(args.out, "report.csv"), rows)
    tables.write_json(os.path.join(args.out, "report.json"), args.title, mode, rows, list(details))
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(markdown.document(args.title, mode, [r.path for r in ordered], rows, scaling_chart, sections))
    print(f"fourmi report: {len(rows)} run(s), {mode} scaling → {os.path.join(args.out, 'report.md')}")
    for row in rows:
        eff = "—" if row["efficiency_pct"] is None else f"{row['efficiency_pct']:.1f}%"
        thr = "—" if row["samples_per_s"] is None else f"{row['samples_per_s']:.1f}"
        print(f"  {row['run']}: {row['ranks']} rank(s), {row['step_ms_slowest']:.2f} ms/step (slowest rank "
              f"{row['slowest_rank']}), {thr} samples/s, efficiency {eff}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
