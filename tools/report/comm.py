"""comm.py — collectives aggregated by (op, group, bytes, ranks) over every rank of a run.

Bandwidths follow nccl-tests: algbw = bytes / mean duration, and
  busbw = algbw × 2(n-1)/n   for all_reduce
          algbw × (n-1)/n    for all_gather and reduce_scatter
          algbw              for everything else (broadcast, reduce, send/recv, ...)
where n is the number of ranks in the collective. They are computed here from bytes, duration
and ranks, so the per-record algbw/busbw in the profile are not needed."""
from statistics import mean


def bus_factor(op, n):
    name = op.replace("_", "").replace("-", "").lower()
    if name == "allreduce":
        return 2 * (n - 1) / n
    if name in ("allgather", "reducescatter"):
        return (n - 1) / n
    return 1.0


def aggregate(profiles):
    """One dict per (op, group, bytes, ranks): calls per rank, mean and max duration (ms),
    algbw and busbw (GB/s, 1e9 bytes/s) at the mean duration, mean overlap (%), most time first."""
    groups = {}
    for p in profiles:
        for rec in p["comm"]:
            groups.setdefault((rec["op"], rec["group"], rec["bytes"], rec["ranks"]), []).append(rec)
    world = len(profiles)
    out = []
    for (op, group, nbytes, ranks), recs in groups.items():
        durations = [r["duration_ms"] for r in recs]
        t = mean(durations)
        algbw = nbytes / (t / 1e3) / 1e9 if t > 0 else None
        overlaps = [r["overlap_pct"] for r in recs if isinstance(r.get("overlap_pct"), (int, float))]
        out.append({"op": op, "group": group, "bytes": nbytes, "ranks": ranks,
                    "calls_per_rank": len(recs) / world, "mean_ms": t, "max_ms": max(durations),
                    "algbw_gbs": algbw, "busbw_gbs": None if algbw is None else algbw * bus_factor(op, ranks),
                    "overlap_pct": mean(overlaps) if overlaps else None})
    return sorted(out, key=lambda a: -a["calls_per_rank"] * a["mean_ms"])


def summary(profiles):
    """Mean over ranks of each comm_summary figure that every rank gives."""
    sums = [p.get("comm_summary") for p in profiles]
    if not all(isinstance(s, dict) for s in sums):
        return {}
    keys = ("total_ms_per_step", "exposed_ms_per_step", "overlap_pct")
    return {k: mean(s[k] for s in sums) for k in keys
            if all(isinstance(s.get(k), (int, float)) for s in sums)}
