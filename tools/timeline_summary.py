#!/usr/bin/env python3
"""Summarise the step timelines of `fourmi-bench-dp --timeline` (one JSON per rank).

For each file: the median step length on the compute stream, when backward ended, how long the
compute stream waited for collectives, and, for one step in the middle of the window, every
collective with its start, device time and the part of it that compute did not wait for.
The first profiled step is left out (it times every op).

  tools/timeline_summary.py DIR/timeline-fno2d-medium-np4-rank*.json [--json out.json]
  (DIR as given to fourmi-bench-dp --timeline K --timeline-dir DIR)
"""
import argparse
import json
import statistics


def summarise(path):
    doc = json.load(open(path))
    steps = doc["per_step"][1:]
    middle = len(doc["per_step"]) // 2
    return {
        "file": path,
        "config": doc.get("config"),
        "ranks": doc.get("ranks"),
        "rank": doc.get("rank"),
        "steps": len(steps),
        "step_ms_median": statistics.median(s["step_ms"] for s in steps),
        "backward_end_ms_median": statistics.median(s["backward_end_ms"] for s in steps),
        "comm_exposed_ms_median": statistics.median(s["comm_exposed_ms"] for s in steps),
        "collectives_of_step": middle,
        "collectives": [
            {k: c[k] for k in ("op", "bytes", "start_ms", "duration_ms", "overlap_pct")}
            for c in doc["comm"] if c["step"] == middle
        ],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--json", help="also write the summaries here")
    args = ap.parse_args()
    out = [summarise(f) for f in args.files]
    for s in out:
        print(f"{s['config']} np{s['ranks']} rank {s['rank']}: step {s['step_ms_median']:.3f} ms, backward ends at "
              f"{s['backward_end_ms_median']:.3f}, waits for collectives {s['comm_exposed_ms_median']:.3f} ms")
    if out and out[0]["collectives"]:
        s = out[0]
        print(f"collectives of step {s['collectives_of_step']}, rank {s['rank']} (start ms, device ms, overlapped %):")
        for c in s["collectives"]:
            print(f"  {c['op']:<18} {c['bytes']:>10} B  {c['start_ms']:8.3f}  {c['duration_ms']:.4f}  {c['overlap_pct']:5.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
