#!/usr/bin/env python3
"""fourmi_checkpoint.py — read a fourmi checkpoint (safetensors layout) in Python with numpy only.

    python3 tools/fourmi_checkpoint.py runs/demo/checkpoints/ckpt-000030.safetensors   # summary
    python3 tools/fourmi_checkpoint.py CKPT --digest      # parameters_crc32, as result.json gives it

From Python: `tensors, metadata = load(path)`: a dict of numpy arrays by key ("param/<name>",
"exp_avg/<name>", ...) and the metadata strings (epoch, epoch_step, config_yaml, ...). Every
tensor's CRC-32 is checked against the one recorded in the file. docs/checkpoints.md describes
the layout; the reader is python/fourmi_torch/safetensors_io.py (numpy only, no torch needed).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from fourmi_torch.safetensors_io import parameter_digest, read  # noqa: E402


def load(path):
    return read(path, expect_format="fourmi-checkpoint")


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
