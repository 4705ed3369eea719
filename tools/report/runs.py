"""runs.py — read one training run directory into a Run: RUN/result.json and the per-rank
profiles RUN/profile/rank-NNNNN.json (schema fourmi.profile/1), plus where each rank's Chrome
trace is. Every key the report uses is checked here; a problem raises ReportError naming the
file and the key, so the rest of the report can index the documents without further checks."""
import json
import os
import re
from dataclasses import dataclass

SCHEMA = "fourmi.profile/1"
PROFILE_FILE = re.compile(r"^rank-(\d{5})\.json$")


class ReportError(Exception):
    """A run that cannot be reported; the message names the file and, where there is one, the key."""


@dataclass
class Run:
    name: str            # the run directory's base name (also used in output file names)
    path: str
    result: dict         # result.json as written by `fourmi train`
    profiles: list       # profile documents, index = rank
    trace_paths: list    # per rank: path of trace-rank-NNNNN.json, or None when absent

    @property
    def ranks(self):
        return self.profiles[0]["world_size"]

    @property
    def global_batch(self):
        return self.profiles[0]["global_batch"]

    @property
    def grid(self):
        g = self.profiles[0]["grid"]
        return f"{g['data']}x{g['modes']}"


def read_json(path, what):
    """A JSON object from path; ReportError when it is missing, not JSON, or not an object."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise ReportError(f"{path}: missing ({what})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ReportError(f"{path}: cannot read: {e}") from None
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ReportError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    return doc


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _get(doc, key, path, kind):
    """doc[key] for a dotted key; kind is 'number', 'int', 'string', 'list' or 'number?' (number or null)."""
    node, walked = doc, []
    for part in key.split("."):
        if not isinstance(node, dict):
            raise ReportError(f"{path}: key '{'.'.join(walked)}' should be an object, found {json.dumps(node)[:60]}")
        if part not in node:
            raise ReportError(f"{path}: missing key '{key}'")
        node = node[part]
        walked.append(part)
    ok = {"number": _is_number(node), "int": isinstance(node, int) and not isinstance(node, bool),
          "string": isinstance(node, str), "list": isinstance(node, list),
          "number?": node is None or _is_number(node)}[kind]
    if not ok:
        raise ReportError(f"{path}: key '{key}' should be {kind.rstrip('?')}, found {json.dumps(node)[:60]}")
    return node


PROFILE_KEYS = [("schema", "string"), ("rank", "int"), ("world_size", "int"), ("grid.data", "int"),
                ("grid.modes", "int"), ("host", "string"), ("device", "string"), ("backend", "string"),
                ("global_batch", "int"), ("steps.step_ms_mean", "number"), ("steps.step_ms_min", "number"),
                ("steps.step_ms_max", "number"), ("steps.compute_ms", "number"), ("steps.comm_exposed_ms", "number"),
                ("steps.data_wait_ms", "number"), ("steps.other_ms", "number"), ("ops", "list"), ("comm", "list")]
OP_KEYS = [("name", "string"), ("kind", "string"), ("phase", "string"), ("flops", "number"), ("bytes", "number"),
           ("time_ms", "number")]
COMM_KEYS = [("op", "string"), ("group", "string"), ("bytes", "number"), ("ranks", "int"), ("duration_ms", "number")]
PEAK_KEYS = ["fp64_flops", "fp32_flops", "tf32_flops", "bf16_flops", "mem_bytes_per_s"]


def check_profile(doc, path):
    """Check a profile document in place; returns it."""
    if doc.get("schema") != SCHEMA:
        raise ReportError(f"{path}: key 'schema' is {json.dumps(doc.get('schema'))}, expected \"{SCHEMA}\"")
    for key, kind in PROFILE_KEYS:
        _get(doc, key, path, kind)
    peaks = doc.setdefault("peaks", {})
    if not isinstance(peaks, dict):
        raise ReportError(f"{path}: key 'peaks' should be an object")
    for key in PEAK_KEYS:  # optional: a peak the device lacks (tf32 on a CPU) may be absent or null
        if key in peaks:
            _get(doc, f"peaks.{key}", path, "number?")
    for i, op in enumerate(doc["ops"]):
        for key, kind in OP_KEYS:
            _get({f"ops[{i}]": op}, f"ops[{i}].{key}", path, kind)
    for i, rec in enumerate(doc["comm"]):
        for key, kind in COMM_KEYS:
            _get({f"comm[{i}]": rec}, f"comm[{i}].{key}", path, kind)
    return doc


def load_run(path):
    """Read and check the run directory at path."""
    path = os.path.normpath(path)
    if not os.path.isdir(path):
        raise ReportError(f"{path}: not a run directory")
    result = read_json(os.path.join(path, "result.json"), "written by `fourmi train` when the run ends")
    prof_dir = os.path.join(path, "profile")
    files = sorted(f for f in os.listdir(prof_dir) if PROFILE_FILE.match(f)) if os.path.isdir(prof_dir) else []
    if not files:
        raise ReportError(f"{os.path.join(prof_dir, 'rank-00000.json')}: missing "
                          "(profiles are written when the run is trained with --set profile.enabled=true)")
    profiles = {}
    for f in files:
        file_path = os.path.join(prof_dir, f)
        doc = check_profile(read_json(file_path, "rank profile"), file_path)
        if doc["rank"] != int(PROFILE_FILE.match(f).group(1)):
            raise ReportError(f"{file_path}: key 'rank' is {doc['rank']}, but the file name says rank {int(f[5:10])}")
        profiles[doc["rank"]] = doc
    first = profiles[min(profiles)]
    world = first["world_size"]
    for rank, doc in profiles.items():
        for key in ("world_size", "global_batch"):
            if doc[key] != first[key]:
                raise ReportError(f"{prof_dir}/rank-{rank:05d}.json: key '{key}' is {doc[key]}, "
                                  f"rank {min(profiles)} says {first[key]}")
    missing = [r for r in range(world) if r not in profiles]
    if missing or len(profiles) != world:
        raise ReportError(f"{prof_dir}/rank-{missing[0] if missing else world:05d}.json: "
                          f"{'missing' if missing else 'unexpected'} (world_size is {world}, "
                          f"found ranks {sorted(profiles)})")
    if first["grid"]["data"] * first["grid"]["modes"] != world:
        raise ReportError(f"{prof_dir}/rank-00000.json: key 'grid' is {first['grid']['data']}x{first['grid']['modes']}, "
                          f"which does not multiply to world_size {world}")
    traces = [os.path.join(prof_dir, f"trace-rank-{r:05d}.json") for r in range(world)]
    traces = [t if os.path.isfile(t) else None for t in traces]
    return Run(name=os.path.basename(path), path=path, result=result,
               profiles=[profiles[r] for r in range(world)], trace_paths=traces)
