#!/usr/bin/env python3
"""test_fourmi_report.py — tools/fourmi_report.py on two synthetic runs (1 and 4 ranks) whose
numbers are chosen so that every figure checked here has one right value: step times, throughput,
weak and strong efficiency, the slowest rank and spread, roofline placement of ops, bus bandwidth
from the nccl-tests formula at the mean duration, the merged trace, the charts, and the errors.

  ~/.cache/fourmi/venv/bin/python tests/tools/test_fourmi_report.py     (needs matplotlib)
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "..", "..", "tools", "fourmi_report.py")
PYTHON = os.environ.get("FOURMI_PYTHON") or sys.executable

PEAKS = {"fp64_flops": 2e13, "fp32_flops": 2e13, "tf32_flops": 1e14, "bf16_flops": 2e14,
         "mem_bytes_per_s": 1e12, "source": "config"}
# spectral mix: 1e13 FLOP/s at intensity 100 → compute bound, 50% of the fp32 peak (2e13).
# fft: 1e13 FLOP/s at intensity 12.5 → memory bound (roof 1.25e13), 80%.
# relu: no FLOPs, left out of the roofline chart.
OPS = [{"name": "layer0.spectral.mix", "kind": "spectral_mix", "phase": "forward", "layer": 0,
        "precision": "fp32", "flops": 1e10, "bytes": 1e8, "time_ms": 1.0},
       {"name": "layer0.fft", "kind": "fft", "phase": "forward", "layer": 0,
        "precision": "fp32", "flops": 5e9, "bytes": 4e8, "time_ms": 0.5},
       {"name": "layer0.relu", "kind": "elementwise", "phase": "backward", "layer": 0,
        "precision": "fp32", "flops": 0, "bytes": 1e8, "time_ms": 0.05}]


def comm_records(world):
    """Per rank: two 100 MB all-reduces (0.5 and 1.5 ms: mean 1 ms → algbw 100 GB/s, busbw 150 at 4
    ranks; the mean of the per-record busbw would be 200), one 40 MB all-gather in 0.4 ms (algbw
    100, busbw 75) and one 1 MB broadcast in 0.01 ms (algbw = busbw = 100)."""
    if world == 1:
        return []
    recs = []
    for step, (op, nbytes, ms, overlap) in enumerate([("all_reduce", 100_000_000, 0.5, 80.0),
                                                      ("all_reduce", 100_000_000, 1.5, 40.0),
                                                      ("all_gather", 40_000_000, 0.4, 0.0),
                                                      ("broadcast", 1_000_000, 0.01, 0.0)]):
        algbw = nbytes / (ms / 1e3) / 1e9
        factor = {"all_reduce": 2 * (world - 1) / world, "all_gather": (world - 1) / world}.get(op, 1.0)
        recs.append({"step": step, "op": op, "group": "data", "dtype": "float32", "bytes": nbytes, "ranks": world,
                     "start_ms": 10.0 * step, "duration_ms": ms, "algbw_gbs": algbw, "busbw_gbs": algbw * factor,
                     "overlap_pct": overlap})
    return recs


def write_run(root, name, step_ms, global_batch):
    """A run directory as `fourmi train --set profile.enabled=true` writes it; step_ms: per rank."""
    world = len(step_ms)
    prof = os.path.join(root, name, "profile")
    os.makedirs(prof)
    with open(os.path.join(root, name, "result.json"), "w") as f:
        json.dump({"epochs_run": 2, "train_rel_l2": 0.1, "test_rel_l2": 0.12, "seconds": 3.0,
                   "samples_per_second": 100.0, "ranks": world, "device": "cpu", "grid": {"data": world, "modes": 1},
                   "global_batch": global_batch, "step_ms": sum(step_ms) / world}, f)
    for rank, t in enumerate(step_ms):
        doc = {"schema": "fourmi.profile/1", "run": name, "rank": rank, "world_size": world,
               "grid": {"data": world, "modes": 1}, "host": "node1", "device": "cpu", "backend": "mpi",
               "model": {"dim": 1, "width": 8, "modes": [8], "layers": 2, "resolution": [128]},
               "global_batch": global_batch, "batch_per_rank": global_batch // world, "peaks": PEAKS,
               "steps": {"profiled": 4, "warmup": 1, "step_ms_mean": t, "step_ms_min": t - 0.5,
                         "step_ms_max": t + 0.5, "samples_per_s": global_batch / world / t * 1e3,
                         "compute_ms": 0.75 * t, "comm_exposed_ms": 0.125 * t, "data_wait_ms": 0.0625 * t,
                         "other_ms": 0.0625 * t, "unprofiled_step_ms_mean": t, "overhead_pct": 0.5 * rank},
               "ops": OPS, "comm": comm_records(world),
               "comm_summary": {"total_ms_per_step": 2.0, "exposed_ms_per_step": 1.0, "overlap_pct": 50.0}}
        with open(os.path.join(prof, f"rank-{rank:05d}.json"), "w") as f:
            json.dump(doc, f)
        trace = {"traceEvents": [
            {"ph": "M", "name": "thread_name", "pid": 0, "tid": 0, "args": {"name": "compute"}},
            {"ph": "M", "name": "thread_name", "pid": 0, "tid": 1, "args": {"name": "communication"}},
            {"ph": "X", "name": "forward", "pid": 0, "tid": 0, "ts": 0, "dur": 1000 * t * 0.4},
            {"ph": "X", "name": "all_reduce", "pid": 0, "tid": 1, "ts": 1000 * t * 0.5, "dur": 500}]}
        with open(os.path.join(prof, f"trace-rank-{rank:05d}.json"), "w") as f:
            json.dump(trace, f)
    return os.path.join(root, name)


def run_report(*args):
    return subprocess.run([PYTHON, REPORT, *args], capture_output=True, text=True)


class FourmiReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fourmi-report-test-")
        self.n1 = write_run(self.tmp, "weak-n01", [20.0], 16)
        self.n4 = write_run(self.tmp, "weak-n04", [24.0, 25.0, 23.0, 24.0], 64)
        self.out = os.path.join(self.tmp, "report")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def report(self, *extra):
        # the 4-rank run first: rows must come out sorted by ranks anyway
        p = run_report(self.n4, self.n1, "--out", self.out, *extra)
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        with open(os.path.join(self.out, "report.json")) as f:
            return json.load(f)

    def test_weak_scaling_table(self):
        doc = self.report()
        self.assertEqual(doc["mode"], "weak")
        r1, r4 = doc["rows"]
        self.assertEqual((r1["run"], r1["ranks"], r4["run"], r4["ranks"]), ("weak-n01", 1, "weak-n04", 4))
        self.assertEqual(r4["grid"], "4x1")
        self.assertAlmostEqual(r4["step_ms_mean"], 24.0)
        self.assertAlmostEqual(r4["step_ms_slowest"], 25.0)
        self.assertEqual(r4["slowest_rank"], 1)
        self.assertAlmostEqual(r4["spread_pct"], 2 / 24 * 100)
        self.assertAlmostEqual(r1["samples_per_s"], 16 / 0.020)
        self.assertAlmostEqual(r4["samples_per_s"], 64 / 0.025)
        self.assertAlmostEqual(r1["efficiency_pct"], 100.0)
        self.assertAlmostEqual(r4["efficiency_pct"], 20 / 25 * 100)
        self.assertAlmostEqual(r4["compute_ms"], 0.75 * 24.0)
        self.assertAlmostEqual(r4["profiler_overhead_pct"], 1.5)  # the worst of the 4 ranks' 0, 0.5, 1, 1.5 %
        with open(os.path.join(self.out, "report.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual([r["ranks"] for r in rows], ["1", "4"])
        self.assertAlmostEqual(float(rows[1]["efficiency_pct"]), 80.0, places=4)
        self.assertAlmostEqual(float(rows[1]["samples_per_s"]), 2560.0, places=2)
        with open(os.path.join(self.out, "report.md")) as f:
            md = f.read()
        self.assertIn("| weak-n04 | 4 | 4x1 | 64 | 24.00 | 25.00 | 2560.0 |", md)
        self.assertIn("80.0%", md)

    def test_strong_efficiency(self):
        doc = self.report("--mode", "strong")
        self.assertEqual(doc["mode"], "strong")
        self.assertAlmostEqual(doc["rows"][1]["efficiency_pct"], 20 * 1 / (25 * 4) * 100)

    def test_comm_busbw_from_formula(self):
        doc = self.report()
        comm = {a["op"]: a for a in doc["runs"][1]["comm"]}
        self.assertEqual(doc["runs"][0]["comm"], [])
        ar = comm["all_reduce"]
        self.assertEqual((ar["calls_per_rank"], ar["ranks"], ar["bytes"]), (2, 4, 100_000_000))
        self.assertAlmostEqual(ar["mean_ms"], 1.0)
        self.assertAlmostEqual(ar["algbw_gbs"], 100.0)
        self.assertAlmostEqual(ar["busbw_gbs"], 150.0)   # 100 × 2·3/4, not the mean of per-record busbw (200)
        self.assertAlmostEqual(ar["overlap_pct"], 60.0)
        self.assertAlmostEqual(comm["all_gather"]["busbw_gbs"], 75.0)
        self.assertAlmostEqual(comm["broadcast"]["busbw_gbs"], 100.0)

    def test_ops_against_roofline(self):
        doc = self.report()
        ops = {o["name"]: o for o in doc["runs"][0]["top_ops"]}
        mix, fft = ops["layer0.spectral.mix"], ops["layer0.fft"]
        self.assertEqual(doc["runs"][0]["top_ops"][0]["name"], "layer0.spectral.mix")  # slowest first
        self.assertAlmostEqual(mix["flops_per_s"], 1e13)
        self.assertAlmostEqual(mix["intensity"], 100.0)
        self.assertEqual(mix["bound"], "compute")
        self.assertAlmostEqual(mix["roofline_pct"], 50.0)
        self.assertEqual(fft["bound"], "memory")
        self.assertAlmostEqual(fft["roofline_pct"], 80.0)

    def test_charts_and_trace(self):
        self.report()
        for base in ("roofline-weak-n01", "roofline-weak-n04", "scaling"):
            with open(os.path.join(self.out, base + ".png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", base)
            with open(os.path.join(self.out, base + ".svg")) as f:
                self.assertIn("<svg", f.read(), base)
        with open(os.path.join(self.out, "trace-weak-n04.json")) as f:
            events = json.load(f)["traceEvents"]
        self.assertEqual({e["pid"] for e in events}, {0, 1, 2, 3})
        names = {e["pid"]: e["args"]["name"] for e in events if e.get("name") == "process_name"}
        self.assertEqual(names[2], "rank 2 (node1)")
        self.assertEqual(sum(1 for e in events if e["ph"] == "X"), 8)

    def test_one_run_no_scaling_chart(self):
        p = run_report(self.n1, "--out", self.out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.out, "roofline-weak-n01.png")))
        self.assertFalse(os.path.exists(os.path.join(self.out, "scaling.png")))

    def test_auto_mode_needs_a_fixed_batch(self):
        odd = write_run(self.tmp, "odd-n04", [24.0] * 4, 48)
        p = run_report(self.n1, odd, "--out", self.out)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--mode weak or --mode strong", p.stderr)

    def test_errors_name_file_and_key(self):
        path = os.path.join(self.n4, "profile", "rank-00002.json")
        with open(path) as f:
            doc = json.load(f)
        del doc["steps"]["compute_ms"]
        with open(path, "w") as f:
            json.dump(doc, f)
        p = run_report(self.n1, self.n4, "--out", self.out)
        self.assertEqual(p.returncode, 2)
        self.assertIn("rank-00002.json", p.stderr)
        self.assertIn("'steps.compute_ms'", p.stderr)

        doc["steps"]["compute_ms"], doc["schema"] = 1.0, "fourmi.profile/0"
        with open(path, "w") as f:
            json.dump(doc, f)
        p = run_report(self.n4, "--out", self.out)
        self.assertEqual(p.returncode, 2)
        self.assertIn("rank-00002.json: key 'schema'", p.stderr)

        os.remove(path)
        p = run_report(self.n4, "--out", self.out)
        self.assertEqual(p.returncode, 2)
        self.assertIn("rank-00002.json: missing", p.stderr)

        os.remove(os.path.join(self.n1, "result.json"))
        p = run_report(self.n1, "--out", self.out)
        self.assertEqual(p.returncode, 2)
        self.assertIn("result.json: missing", p.stderr)


if __name__ == "__main__":
    unittest.main()
