"""charts.py — the report's figures, each saved as PNG and SVG (matplotlib, Agg backend):
  roofline(...)  log-log roofline of one rank: the memory roof, one ceiling per compute peak,
                 each op at (intensity, achieved FLOP/s), marker by kind, colour by phase
  scaling(...)   efficiency and throughput against ranks, each with its ideal line
"""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from .ops import PRECISIONS, peak_flops  # noqa: E402

KIND_MARKERS = {"fft": "o", "ifft": "v", "spectral_mix": "s", "linear": "D", "elementwise": "^",
                "loss": "P", "optimizer": "X", "other": "*"}
PHASE_COLOURS = {"forward": "tab:blue", "backward": "tab:orange", "step": "tab:green"}
LABELLED_OPS = 6


def _save(fig, base):
    fig.savefig(base + ".png", dpi=130)
    fig.savefig(base + ".svg")
    plt.close(fig)
    return [base + ".png", base + ".svg"]


def _si(v, unit):
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:.3g} {prefix}{unit}"
    return f"{v:.3g} {unit}"


def _ceilings(peaks):
    """[(label, FLOP/s)] lowest first; precisions with the same peak share one ceiling."""
    by_value = {}
    for p in PRECISIONS:
        v = peak_flops(peaks, p)
        if v:
            by_value.setdefault(v, []).append(p)
    return sorted(((("/".join(names)), v) for v, names in by_value.items()), key=lambda c: c[1])


def roofline(run_name, profile, ops, base):
    """Roofline of one rank's ops; returns the files written."""
    peaks = profile.get("peaks", {})
    mem = peaks.get("mem_bytes_per_s") or None
    ceilings = _ceilings(peaks)
    shown = [o for o in ops if o["intensity"] > 0 and o["flops_per_s"] > 0]
    xs = [o["intensity"] for o in shown] + ([v / mem for _, v in ceilings] if mem else [])
    x_lo, x_hi = (min(xs) / 4, max(xs) * 4) if xs else (1e-2, 1e4)
    ys = [o["flops_per_s"] for o in shown] + [v for _, v in ceilings] + ([mem * x_lo] if mem else [])
    y_lo, y_hi = (min(ys) / 3, max(ys) * 3) if ys else (1e6, 1e15)

    fig, ax = plt.subplots(figsize=(8, 5.5))
    ax.set_xscale("log")
    ax.set_yscale("log")
    top = ceilings[-1][1] if ceilings else None
    if mem:
        x_end = top / mem if top else x_hi
        ax.plot([x_lo, x_end], [mem * x_lo, mem * x_end], color="black", lw=1.5)
    previous = None  # (value, annotation) of the last ceiling labelled above its line
    for label, v in ceilings:
        x_start = v / mem if mem else x_lo
        ax.plot([x_start, x_hi], [v, v], color="black", lw=1.2, ls="-" if v == top else "--")
        note = ax.annotate(f"{label} {_si(v, 'FLOP/s')}", (x_hi / 1.1, v * 1.08), ha="right", va="bottom", fontsize=8)
        # Two ceilings closer than a factor 1.5: the lower one's label moves below its line.
        if previous is not None and v / previous[0] < 1.5:
            previous[1].xy = (x_hi / 1.1, previous[0] / 1.08)
            previous[1].set_va("top")
            previous = None
        else:
            previous = (v, note)
    for o in shown:
        ax.scatter(o["intensity"], o["flops_per_s"], marker=KIND_MARKERS.get(o["kind"], "*"),
                   color=PHASE_COLOURS.get(o["phase"], "tab:gray"), s=40, edgecolors="black", linewidths=0.4,
                   zorder=3)
    labelled = []  # one label per cluster: ops of the same kind in every layer sit on one point
    for o in sorted(shown, key=lambda o: -o["time_ms"]):
        at = (math.log10(o["intensity"]), math.log10(o["flops_per_s"]))
        # A label runs about a decade to the right of its point: skip points whose label would overlap one.
        if len(labelled) == LABELLED_OPS or any(abs(at[0] - x) < 0.9 and abs(at[1] - y) < 0.12 for x, y in labelled):
            continue
        labelled.append(at)
        ax.annotate(f"{o['name']} ({o['phase']}, {o['time_ms']:.2g} ms)", (o["intensity"], o["flops_per_s"]),
                    xytext=(6, -10), textcoords="offset points", fontsize=7)
    kinds = sorted({o["kind"] for o in shown})
    phases = sorted({o["phase"] for o in shown})
    handles = [Line2D([], [], ls="", marker=KIND_MARKERS.get(k, "*"), color="tab:gray", label=k) for k in kinds]
    handles += [Line2D([], [], ls="", marker="o", color=PHASE_COLOURS.get(p, "tab:gray"), label=p) for p in phases]
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize=7, ncol=2)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    if mem:  # the memory roof's label, along the line (its angle is known once the limits are)
        x0 = x_lo * 2
        (px0, py0), (px1, py1) = ax.transData.transform([(x0, mem * x0), (x0 * 10, mem * x0 * 10)])
        ax.annotate(f"memory {_si(mem, 'B/s')}", (x0, mem * x0), xytext=(0, 4), textcoords="offset points",
                    rotation=math.degrees(math.atan2(py1 - py0, px1 - px0)), rotation_mode="anchor", fontsize=8)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("achieved FLOP/s")
    hidden = len(ops) - len(shown)
    note = f"; {hidden} op(s) without FLOPs not shown" if hidden else ""
    ax.set_title(f"{run_name}: rank 0, {profile['device']}{note}", fontsize=9)
    ax.grid(True, which="major", lw=0.3)
    fig.tight_layout()
    return _save(fig, base)


def scaling(rows, mode, base):
    """Efficiency and throughput against ranks (rows sorted by ranks); returns the files written."""
    rows = [r for r in rows if r["efficiency_pct"] is not None and r["samples_per_s"] is not None]
    if not rows:
        return []
    ranks = [r["ranks"] for r in rows]
    eff = [r["efficiency_pct"] for r in rows]
    thr = [r["samples_per_s"] for r in rows]
    fig, (a_eff, a_thr) = plt.subplots(1, 2, figsize=(10, 4))
    for ax in (a_eff, a_thr):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(set(ranks)))
        ax.set_xticklabels([str(n) for n in sorted(set(ranks))])
        ax.set_xlim(min(ranks) / 1.3, max(ranks) * 1.3)
        ax.set_xlabel("ranks")
        ax.grid(True, lw=0.3)
    a_eff.plot(ranks, eff, "o-", label="measured")
    a_eff.axhline(100, color="gray", ls="--", label="ideal")
    for n, e in zip(ranks, eff):
        a_eff.annotate(f"{e:.1f}%", (n, e), xytext=(0, 6), textcoords="offset points", ha="center", fontsize=8)
    a_eff.set_ylim(0, max(110, max(eff) + 10))
    a_eff.set_ylabel(f"{mode}-scaling efficiency (%)")
    a_eff.legend(fontsize=8, loc="lower left")
    # Ideal throughput grows linearly with ranks in both modes: weak keeps the step time with a
    # batch that grows with N; strong keeps the batch with a step time that shrinks as 1/N.
    ideal = [thr[0] * n / ranks[0] for n in ranks]
    a_thr.plot(ranks, thr, "o-", label="measured")
    a_thr.plot(ranks, ideal, color="gray", ls="--", label="ideal (linear)")
    a_thr.set_yscale("log")
    a_thr.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a_thr.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
    a_thr.set_ylabel("throughput (samples/s)")
    a_thr.legend(fontsize=8, loc="upper left")
    lo, hi = min(thr + ideal), max(thr + ideal)
    a_thr.set_ylim(lo / 1.5, hi * 1.5 if hi > lo else lo * 2)
    devices = sorted({r["device"] for r in rows})
    fig.suptitle(f"{mode} scaling, {', '.join(devices)}", fontsize=10)
    fig.tight_layout()
    return _save(fig, base)

