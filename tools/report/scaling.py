"""scaling.py — the scaling table: one row per run (step time, throughput, step breakdown,
efficiency against the run with the fewest ranks, the slowest rank and the spread across ranks),
and the choice between weak and strong scaling.

Step times are each rank's mean over the profiled steps. A synchronous data-parallel step ends
when the slowest rank ends it, so throughput and efficiency use the slowest rank's step time:
  throughput  = global batch / t_slowest
  weak        efficiency = t_base / t_N                  (batch per rank fixed)
  strong      efficiency = t_base * N_base / (t_N * N)   (global batch fixed)
"""
import sys
from statistics import mean

from .runs import ReportError

# (key, CSV/JSON column, Markdown header, Markdown format); the order is the table's order.
COLUMNS = [
    ("run", "run", "run", "{}"),
    ("ranks", "ranks", "ranks", "{}"),
    ("grid", "grid", "grid (DxM)", "{}"),
    ("global_batch", "global_batch", "global batch", "{}"),
    ("step_ms_mean", "step_ms_mean", "step ms (mean)", "{:.2f}"),
    ("step_ms_slowest", "step_ms_slowest", "step ms (slowest)", "{:.2f}"),
    ("samples_per_s", "samples_per_s", "samples/s", "{:.1f}"),
    ("compute_ms", "compute_ms", "compute ms", "{:.2f}"),
    ("comm_exposed_ms", "comm_exposed_ms", "comm exposed ms", "{:.2f}"),
    ("data_wait_ms", "data_wait_ms", "data wait ms", "{:.2f}"),
    ("other_ms", "other_ms", "other ms", "{:.2f}"),
    ("efficiency_pct", "efficiency_pct", "efficiency", "{:.1f}%"),
    ("slowest_rank", "slowest_rank", "slowest rank", "{}"),
    ("spread_pct", "spread_pct", "spread", "{:.1f}%"),
    ("profiler_overhead_pct", "profiler_overhead_pct", "profiler overhead", "{:.1f}%"),
    ("device", "device", None, "{}"),
    ("test_rel_l2", "test_rel_l2", None, "{:.5f}"),
]


def _same_per_rank_batch(runs):
    b0, n0 = runs[0].global_batch, runs[0].ranks
    return all(r.global_batch * n0 == b0 * r.ranks for r in runs)


def _same_global_batch(runs):
    return all(r.global_batch == runs[0].global_batch for r in runs)


def pick_mode(runs, requested):
    """'weak' or 'strong'. auto: weak when every run has the same batch per rank, strong when every
    run has the same global batch (with one rank count both hold: weak)."""
    batches = ", ".join(f"{r.name}: {r.global_batch} over {r.ranks}" for r in runs)
    if requested == "auto":
        if _same_per_rank_batch(runs):
            return "weak"
        if _same_global_batch(runs):
            return "strong"
        raise ReportError(f"--mode auto: the runs keep neither the batch per rank (weak) nor the global batch "
                          f"(strong) fixed ({batches}); pass --mode weak or --mode strong")
    fits = _same_per_rank_batch(runs) if requested == "weak" else _same_global_batch(runs)
    if not fits:
        print(f"fourmi report: warning: --mode {requested}, but the runs' batches do not follow it ({batches})",
              file=sys.stderr)
    return requested


def run_row(run):
    """The table row of one run, without efficiency (which needs the base run)."""
    steps = [p["steps"] for p in run.profiles]
    times = [s["step_ms_mean"] for s in steps]
    slowest = max(range(len(times)), key=lambda r: times[r])
    t_mean = mean(times)
    overheads = [s["overhead_pct"] for s in steps if isinstance(s.get("overhead_pct"), (int, float))]
    test = run.result.get("test_rel_l2")
    return {
        "run": run.name, "ranks": run.ranks, "grid": run.grid, "global_batch": run.global_batch,
        "step_ms_mean": t_mean, "step_ms_slowest": times[slowest],
        "samples_per_s": run.global_batch / (times[slowest] / 1e3) if times[slowest] > 0 else None,
        "compute_ms": mean(s["compute_ms"] for s in steps),
        "comm_exposed_ms": mean(s["comm_exposed_ms"] for s in steps),
        "data_wait_ms": mean(s["data_wait_ms"] for s in steps),
        "other_ms": mean(s["other_ms"] for s in steps),
        "efficiency_pct": None, "slowest_rank": slowest,
        "spread_pct": (max(times) - min(times)) / t_mean * 100 if t_mean > 0 else 0.0,
        # The profiler's own cost measured in this run (the worst rank's), when the run was long enough.
        "profiler_overhead_pct": max(overheads) if overheads else None,
        "device": run.profiles[0]["device"],
        "test_rel_l2": test if isinstance(test, (int, float)) else None,
    }


def efficiency(base, row, mode):
    """Scaling efficiency of row against base, as a fraction."""
    t_base, t_n = base["step_ms_slowest"], row["step_ms_slowest"]
    if t_n <= 0:
        return None
    if mode == "weak":
        return t_base / t_n
    return t_base * base["ranks"] / (t_n * row["ranks"])


def table(runs, mode):
    """Rows sorted by ranks (then name), each with its efficiency against the first row."""
    rows = sorted((run_row(r) for r in runs), key=lambda row: (row["ranks"], row["run"]))
    for row in rows:
        e = efficiency(rows[0], row, mode)
        row["efficiency_pct"] = None if e is None else e * 100
    return rows
