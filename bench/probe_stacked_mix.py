#!/usr/bin/env python3
"""Probe: per-mode channel mixing as cuBLAS complex bmm against the same product as one real bmm
over real and imaginary rows stacked (2B rows, interleaved weight columns). Times forward, dx and dw
for the FNO-2D `medium` and `large` layers, TF32 off and on. With --once it runs each product once
(for Nsight Compute). Usage: probe_stacked_mix.py [--once] [--json OUT]"""
import argparse, json, sys, datetime, torch

def cplx_fwd(x, w): return torch.bmm(x, torch.view_as_complex(w))
def cplx_dx(g, w): return torch.bmm(g, torch.view_as_complex(w).conj().transpose(1, 2))
def cplx_dw(x, g): return torch.bmm(x.conj().transpose(1, 2), g)

def stack_rows(x):  # [T,B,C] complex -> [T,2B,C] real (re rows, then im rows)
    t, b, c = x.shape
    return torch.view_as_real(x).permute(0, 3, 1, 2).reshape(t, 2 * b, c)

def real_fwd(xs, w):  # xs [T,2B,Cin]; w [T,Cin,Cout,2] -> out complex [T,B,Cout]
    t, cin, cout, _ = w.shape
    p = torch.bmm(xs, w.view(t, cin, 2 * cout)).view(t, 2, -1, cout, 2)
    return torch.complex(p[:, 0, :, :, 0] - p[:, 1, :, :, 1], p[:, 0, :, :, 1] + p[:, 1, :, :, 0])

def grad_rows(g):  # [T,B,Cout] complex -> [T,2B,2Cout] real: rows (gr,gi) then (gi,-gr)
    t, b, c = g.shape
    return torch.view_as_real(torch.cat([g, g * -1j], 1)).reshape(t, 2 * b, 2 * c)

def real_dx(y, w):
    t, cin, cout, _ = w.shape
    q = torch.bmm(y, w.view(t, cin, 2 * cout).transpose(1, 2)).view(t, 2, -1, cin)
    return torch.complex(q[:, 0], q[:, 1])

def real_dw(xs, y):
    t, twob, cin = xs.shape
    return torch.bmm(xs.transpose(1, 2), y).view(t, cin, -1, 2)

def timeit(fn, reps=50):
    for _ in range(5): fn()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize(); s.record()
    for _ in range(reps): fn()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / reps * 1000.0

ap = argparse.ArgumentParser(); ap.add_argument("--once", action="store_true"); ap.add_argument("--json")
a = ap.parse_args()
cfgs = {"medium": (2 * 16 * 16, 32, 64, 64), "large": (2 * 32 * 32, 16, 64, 64)}
res = []
for name, (t, b, cin, cout) in cfgs.items():
    torch.manual_seed(0)
    x = torch.randn(t, b, cin, dtype=torch.complex64, device="cuda")
    g = torch.randn(t, b, cout, dtype=torch.complex64, device="cuda")
    w = torch.randn(t, cin, cout, 2, device="cuda") / cin
    for tf32 in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        xs, y = stack_rows(x), grad_rows(g)
        ref = (cplx_fwd(x, w), cplx_dx(g, w), torch.view_as_real(cplx_dw(x, g).resolve_conj()))
        got = (real_fwd(xs, w), real_dx(y, w), real_dw(xs, y))
        err = [float((r - q).abs().max() / r.abs().max()) for r, q in zip(ref, got)]
        if a.once:
            cplx_fwd(x, w); cplx_dx(g, w); cplx_dw(x, g); torch.cuda.synchronize()
            torch.bmm(xs, w.view(t, cin, 2 * cout)); torch.bmm(y, w.view(t, cin, 2 * cout).transpose(1, 2)); torch.bmm(xs.transpose(1, 2), y)
            torch.cuda.synchronize(); continue
        row = {"config": name, "tf32": tf32, "T": t, "B": b, "C": cin, "max_rel_err": err,
               "complex_us": {"fwd": timeit(lambda: cplx_fwd(x, w)), "dx": timeit(lambda: cplx_dx(g, w)), "dw": timeit(lambda: cplx_dw(x, g))},
               "stacked_gemm_only_us": {"fwd": timeit(lambda: torch.bmm(xs, w.view(t, cin, 2 * cout))),
                                        "dx": timeit(lambda: torch.bmm(y, w.view(t, cin, 2 * cout).transpose(1, 2))),
                                        "dw": timeit(lambda: torch.bmm(xs.transpose(1, 2), y))},
               "stacked_with_copies_us": {"fwd": timeit(lambda: real_fwd(stack_rows(x), w)), "dx": timeit(lambda: real_dx(grad_rows(g), w)),
                                          "dw": timeit(lambda: real_dw(xs, y))}}
        print(json.dumps(row)); res.append(row)
if a.json:
    json.dump({"device": torch.cuda.get_device_name(), "date": datetime.date.today().isoformat(),
               "command": "python3 bench/probe_stacked_mix.py --json OUT", "runs": res}, open(a.json, "w"), indent=1)
