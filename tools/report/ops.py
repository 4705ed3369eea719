"""ops.py — per-op figures of a rank's profile, placed against the roofline of its device.

An op's FLOP/s, byte/s and intensity are taken from the profile when it has them and otherwise
derived from flops, bytes and time_ms. The roof an op is held to is min(peak of its precision,
intensity × memory bandwidth); it is compute bound when the first term is the smaller."""
PRECISIONS = ("fp64", "fp32", "tf32", "bf16")


def peak_flops(peaks, precision):
    """The compute peak (FLOP/s) for a precision, or None when the profile gives none."""
    v = peaks.get(f"{precision}_flops")
    return v if v else None


def _given(op, key):
    v = op.get(key)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def op_figures(op, peaks):
    """A copy of op with flops_per_s, bytes_per_s, intensity, bound and roofline_pct filled in."""
    t_s = op["time_ms"] / 1e3
    out = dict(op)
    out.setdefault("precision", "fp32")
    out.setdefault("layer", -1)
    fps = _given(op, "flops_per_s")
    out["flops_per_s"] = fps if fps is not None else (op["flops"] / t_s if t_s > 0 else 0.0)
    bps = _given(op, "bytes_per_s")
    out["bytes_per_s"] = bps if bps is not None else (op["bytes"] / t_s if t_s > 0 else 0.0)
    ai = _given(op, "intensity")
    out["intensity"] = ai if ai is not None else (op["flops"] / op["bytes"] if op["bytes"] > 0 else 0.0)
    peak, mem = peak_flops(peaks, out["precision"]), peaks.get("mem_bytes_per_s") or None
    if out.get("bound") not in ("compute", "memory"):
        out["bound"] = None if not (peak and mem) else ("compute" if out["intensity"] * mem >= peak else "memory")
    if _given(op, "roofline_pct") is None:
        roofs = [x for x in (peak, out["intensity"] * mem if mem else None) if x]
        out["roofline_pct"] = out["flops_per_s"] / min(roofs) * 100 if roofs and out["intensity"] > 0 else None
    return out


def all_ops(profile):
    """Every op of a profile with its figures, slowest first."""
    ops = [op_figures(op, profile.get("peaks", {})) for op in profile["ops"]]
    return sorted(ops, key=lambda o: -o["time_ms"])


def top_ops(profile, n=15):
    return all_ops(profile)[:n]
