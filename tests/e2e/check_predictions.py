#!/usr/bin/env python3
"""check_predictions.py — reads `fourmi predict` output with h5py alone and checks it.

    check_predictions.py errors PRED_DIR EVAL_JSON       per-sample errors recomputed from the files
                                                         (prediction vs the dataset's own y) and their
                                                         mean equal to `fourmi eval`'s test error
    check_predictions.py same PRED_DIR OTHER_DIR         two prediction directories hold the same values
    check_predictions.py export MODEL PRED_DIR [DEVICE]  fourmi_torch.load(MODEL) on the dataset's x
                                                         reproduces the predictions to 1e-5 relative
                                                         (the module on DEVICE, default cpu)
Prints one line per check and exits 1 when one fails.
"""
import json
import os
import sys

import h5py
import numpy as np


def pred_files(pred_dir):
    summary = json.load(open(os.path.join(pred_dir, "predictions.json")))
    return summary, [os.path.join(pred_dir, f) for f in summary["files"]]


def attr(f, key):
    v = f.attrs[key]
    return v.decode() if isinstance(v, bytes) else str(v)


def source_samples(f, field):
    """The dataset's samples behind a predictions file, subsampled as fourmi read them."""
    dataset, shard, sub = attr(f, "dataset"), attr(f, "source_shard"), int(attr(f, "read_sub"))
    manifest = json.load(open(os.path.join(dataset, "manifest.json")))
    start = 0
    for s in manifest["shards"]:
        if s["file"] == shard:
            break
        start += s["num_samples"]
    with h5py.File(os.path.join(dataset, shard), "r") as src:
        a = src[field][...]
    local = f["sample"][...] - start
    a = a[local]
    return a[(slice(None), slice(None)) + tuple(slice(None, None, sub) for _ in range(a.ndim - 2))]


def rel_l2(pred, target):
    b = pred.shape[0]
    p, t = pred.reshape(b, -1).astype(np.float64), target.reshape(b, -1).astype(np.float64)
    return np.linalg.norm(p - t, axis=1) / np.linalg.norm(t, axis=1)


def check_errors(pred_dir, eval_json):
    summary, files = pred_files(pred_dir)
    errs, worst = [], 0.0
    for path in files:
        with h5py.File(path, "r") as f:
            y = source_samples(f, "y")
            if not np.array_equal(f["target"][...], y):
                return f"{path}: /target differs from the dataset's y", ""
            mine = rel_l2(f["prediction"][...], y)
            worst = max(worst, float(np.max(np.abs(mine - f["rel_l2"][...]) / f["rel_l2"][...])))
            errs.append(f["rel_l2"][...])
    errs = np.concatenate(errs)
    ev = json.load(open(eval_json))
    mean = float(errs.mean())
    ok = worst < 1e-5 and errs.size == ev["test_samples"] and abs(mean - ev["test_rel_l2"]) <= 1e-6 * ev["test_rel_l2"]
    msg = (f"{errs.size} samples: mean per-sample error {mean:.7g} vs eval {ev['test_rel_l2']:.7g}; "
           f"recomputed from the files within {worst:.1e}")
    return None if ok else msg, msg


def check_same(a_dir, b_dir):
    _, a = pred_files(a_dir)
    _, b = pred_files(b_dir)
    if [os.path.basename(p) for p in a] != [os.path.basename(p) for p in b]:
        return "different files", ""
    worst = 0.0
    for pa, pb in zip(a, b):
        with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
            if not np.array_equal(fa["sample"][...], fb["sample"][...]):
                return f"{pa}: other samples", ""
            pa_, pb_ = fa["prediction"][...], fb["prediction"][...]
            worst = max(worst, float(np.abs(pa_ - pb_).max() / np.abs(pb_).max()))
    msg = f"{len(a)} files, predictions within {worst:.1e}"
    return (None if worst < 1e-5 else msg), msg


def check_export(model_path, pred_dir, device="cpu"):
    sys.path.insert(0, os.path.join(os.environ["FOURMI_SOURCE_DIR"], "python"))
    import torch
    import fourmi_torch
    model = fourmi_torch.load(model_path, device=device)
    _, files = pred_files(pred_dir)
    worst = traced_worst = 0.0
    for path in files:
        with h5py.File(path, "r") as f:
            x = torch.from_numpy(np.ascontiguousarray(source_samples(f, "x"))).to(device)
            want = f["prediction"][...]
        with torch.no_grad():
            got = model(x).cpu().numpy()
            traced = torch.jit.trace(model, x)  # TorchScript
            again = traced(x).cpu().numpy()
        worst = max(worst, float(np.linalg.norm(got - want) / np.linalg.norm(want)))
        traced_worst = max(traced_worst, float(np.linalg.norm(again - got) / np.linalg.norm(got)))
    msg = (f"fourmi_torch ({device}) on {len(files)} file(s): relative difference {worst:.1e}; "
           f"its TorchScript trace within {traced_worst:.1e} of it")
    return (None if worst <= 1e-5 and traced_worst <= 1e-6 else msg), msg


def main(argv):
    what = argv[1]
    err, msg = {"errors": check_errors, "same": check_same, "export": check_export}[what](*argv[2:])
    print(msg if err is None else f"mismatch: {err}")
    return 0 if err is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
