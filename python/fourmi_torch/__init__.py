"""fourmi_torch — fourmi's trained models in PyTorch.

    import fourmi_torch
    model = fourmi_torch.load("runs/demo/model.safetensors")   # written by `fourmi export`
    y = model(x)            # x [batch, in_channels, n_1, ..., n_d] in physical units

`fourmi_torch.read(path)` reads any fourmi safetensors file (checkpoints too) as numpy arrays.
"""
from .fno import FNO, load
from .safetensors_io import parameter_digest, read

__all__ = ["FNO", "load", "read", "parameter_digest"]
__version__ = "0.1.0"
