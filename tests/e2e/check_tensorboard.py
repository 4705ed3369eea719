#!/usr/bin/env python3
"""check_tensorboard.py — what `tensorboard --logdir LOGDIR` shows of a fourmi run, against its metrics.jsonl.

    check_tensorboard.py LOGDIR RUN_DIR

Loads LOGDIR with TensorBoard's own event multiplexer (the reader behind `tensorboard --logdir`),
finds the run RUN_DIR/tensorboard, and checks that every numeric field of every metrics.jsonl
record (but epoch and wall_time) is a scalar of that name at step = epoch, with the record's value
(to float32), each epoch exactly once. Exits 1 on a difference.
"""
import json
import os
import sys

import numpy as np
from tensorboard.backend.event_processing import event_multiplexer


def main(logdir, run_dir):
    mux = event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    want_run = os.path.relpath(os.path.join(run_dir, "tensorboard"), logdir)
    runs = mux.Runs()
    if want_run not in runs:
        print(f"mismatch: run {want_run} not among {sorted(runs)}")
        return 1
    tags = set(mux.Runs()[want_run]["scalars"])
    records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    checked = 0
    for key in sorted({k for r in records for k, v in r.items() if isinstance(v, (int, float)) and k not in ("epoch", "wall_time")}):
        if key not in tags:
            print(f"mismatch: scalar '{key}' missing; TensorBoard has {sorted(tags)}")
            return 1
        events = mux.Scalars(want_run, key)
        want = [(r["epoch"], r[key]) for r in records if key in r]
        got = [(e.step, e.value) for e in events]
        if [s for s, _ in got] != [s for s, _ in want] or \
                any(np.float32(v) != np.float32(g) for (_, v), (_, g) in zip(want, got)):
            print(f"mismatch: '{key}': TensorBoard {got} vs metrics.jsonl {want}")
            return 1
        checked += len(events)
    print(f"{len(tags)} scalars, {checked} points, epochs {[r['epoch'] for r in records]} each once")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
