"""Reading fourmi's safetensors files (checkpoints and exported models) with numpy alone.

`read(path)` returns a dict of numpy arrays by key and the metadata strings; every tensor's
CRC-32, which fourmi records as metadata "crc32/<key>", is checked. docs/checkpoints.md
describes the keys; PyPI's `safetensors.numpy.load_file` reads the same files (without the check).
"""
import json
import struct
import zlib

import numpy as np

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "U8": np.uint8, "BOOL": np.bool_}


def read(path, expect_format=None):
    """(tensors, metadata) of a safetensors file; `expect_format`: the metadata "format" required."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: not a safetensors file (header of {n} bytes in a file of {len(data)})")
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    if expect_format is not None and metadata.get("format") != expect_format:
        raise ValueError(f"{path}: format '{metadata.get('format')}'; expected '{expect_format}'")
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
            arr = np.frombuffer(raw, _DTYPES[e["dtype"]])
        tensors[name] = arr.reshape(e["shape"])
    return tensors, metadata


def parameter_digest(tensors):
    """CRC-32 of the "param/" tensors, names and shapes in name order: fourmi's parameters_crc32."""
    crc = 0
    for key in sorted(k for k in tensors if k.startswith("param/")):
        t = tensors[key]
        crc = zlib.crc32(f"{key[6:]}[{','.join(str(s) for s in t.shape)}]:".encode(), crc)
        crc = zlib.crc32(np.ascontiguousarray(t).tobytes(), crc)
    return f"{crc:08x}"
