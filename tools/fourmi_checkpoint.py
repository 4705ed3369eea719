#!/usr/bin/env python3
"""fourmi_checkpoint.py — read a fourmi checkpoint (safetensors layout) in Python with numpy only.

    python3 tools/fourmi_checkpoint.py runs/demo/checkpoints/ckpt-000030.safetensors   # summary
    python3 tools/fourmi_checkpoint.py CKPT --digest      # parameters_crc32, as result.json gives it

From Python: `tensors, metadata = load(path)`: a dict of numpy arrays by key ("param/<name>",
"exp_avg/<name>", ...) and the metadata strings (epoch, epoch_step, config_yaml, ...). Every
tensor's CRC-32 is checked against the one recorded in the file. docs/checkpoints.md describes
the layout; `safetensors.numpy.load_file` reads the same files.
"""
import json
import struct
import sys
import zlib

import numpy as np

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "U8": np.uint8, "BOOL": np.bool_}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    if metadata.get("format") != "fourmi-checkpoint":
        raise ValueError(f"{path}: not a fourmi checkpoint")
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        raw = bytes(body[begin:end])
        crc = metadata.get("crc32/" + name)
        if crc is not None and f"{zlib.crc32(raw):08x}" != crc:
            raise ValueError(f"{path}: tensor '{name}' fails its checksum")
        if e["dtype"] == "BF16":  # numpy has no bfloat16: widen to float32
            arr = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, DTYPES[e["dtype"]])
        tensors[name] = arr.reshape(e["shape"])
    return tensors, metadata


def parameter_digest(tensors):
    """CRC-32 of the parameters, names and shapes in name order: fourmi's parameters_crc32."""
    crc = 0
    for key in sorted(k for k in tensors if k.startswith("param/")):
        t = tensors[key]
        crc = zlib.crc32(f"{key[6:]}[{','.join(str(s) for s in t.shape)}]:".encode(), crc)
        crc = zlib.crc32(np.ascontiguousarray(t).tobytes(), crc)
    return f"{crc:08x}"


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    tensors, metadata = load(argv[1])
    if "--digest" in argv:
        print(parameter_digest(tensors))
        return 0
    print(f"{argv[1]}: epoch {metadata['epoch']} step {metadata['epoch_step']}, mode ranks {metadata['mode_ranks']}")
    for key in sorted(tensors):
        if key.startswith("param/"):
            print(f"  {key[6:]:40s} {tensors[key].dtype} {list(tensors[key].shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
