"""trace.py — merge a run's per-rank Chrome traces (profile/trace-rank-NNNNN.json) into one file
that chrome://tracing or ui.perfetto.dev opens with one process per rank: pid = rank, named
"rank N (host)", threads compute (tid 0), communication (1) and data loader (2)."""
import json

from .runs import ReportError

THREAD_NAMES = {0: "compute", 1: "communication", 2: "data loader"}


def _events(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReportError(f"{path}: not a readable Chrome trace: {e}") from None
    events = doc.get("traceEvents") if isinstance(doc, dict) else doc  # the array form is valid too
    if not isinstance(events, list):
        raise ReportError(f"{path}: missing key 'traceEvents'")
    for i, ev in enumerate(events):
        if not isinstance(ev, dict) or "ph" not in ev:
            raise ReportError(f"{path}: key 'traceEvents[{i}].ph' missing")
    return events


def merge(run, out_path):
    """Write the merged trace; returns False (writing nothing) when the run has no traces at all."""
    present = [p for p in run.trace_paths if p]
    if not present:
        return False
    if len(present) != len(run.trace_paths):
        missing = run.trace_paths.index(None)
        raise ReportError(f"{run.path}/profile/trace-rank-{missing:05d}.json: missing "
                          f"(other ranks of the run wrote theirs)")
    merged = []
    for rank, path in enumerate(run.trace_paths):
        host = run.profiles[rank]["host"]
        merged.append({"ph": "M", "name": "process_name", "pid": rank, "tid": 0, "args": {"name": f"rank {rank} ({host})"}})
        merged.append({"ph": "M", "name": "process_sort_index", "pid": rank, "tid": 0, "args": {"sort_index": rank}})
        named, used = set(), set()
        for ev in _events(path):
            if ev["ph"] == "M" and ev.get("name") in ("process_name", "process_sort_index"):
                continue  # replaced by the names above
            ev = dict(ev, pid=rank)
            if ev["ph"] == "M" and ev.get("name") == "thread_name":
                named.add(ev.get("tid"))
            else:
                used.add(ev.get("tid"))
            merged.append(ev)
        for tid in sorted(t for t in used - named if t in THREAD_NAMES):
            merged.append({"ph": "M", "name": "thread_name", "pid": rank, "tid": tid, "args": {"name": THREAD_NAMES[tid]}})
    with open(out_path, "w") as f:
        json.dump({"traceEvents": merged, "displayTimeUnit": "ms",
                   "otherData": {"run": run.name, "ranks": run.ranks}}, f)
    return True
