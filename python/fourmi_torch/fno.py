"""fourmi's FNO as a torch.nn.Module: the same forward as fourmi's (src/models/fno.cpp), built from
an exported model file (`fourmi export`). docs/checkpoints.md states the conventions used here.
"""
import json
import math

import torch
import torch.nn.functional as F
from torch import nn

from .safetensors_io import read


class Pointwise(nn.Module):
    """A linear map over channels at every point: weight [out, in], bias [out]."""

    def __init__(self, weight, bias):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias)

    def forward(self, x):
        b, c = x.shape[:2]
        y = torch.matmul(self.weight, x.reshape(b, c, -1)) + self.bias[:, None]
        return y.reshape(b, -1, *x.shape[2:])


def _corner_slices(corner, modes, spectrum):
    """Index of corner `corner` of the half spectrum: bit k set = negative frequencies along dim k (k < d-1)."""
    d = len(modes)
    idx = [slice(None), slice(None)]
    for k in range(d - 1):
        n = spectrum[k]
        idx.append(slice(n - modes[k], n) if (corner >> k) & 1 else slice(0, modes[k]))
    idx.append(slice(0, modes[-1]))
    return tuple(idx)


class SpectralConv(nn.Module):
    """rfftn -> the retained modes in fourmi's flat order (corner-major, then row-major over the
    modes of each dimension) -> complex channel mixing per mode -> irfftn on the input's grid."""

    def __init__(self, weight, modes):
        super().__init__()
        self.weight = nn.Parameter(weight)  # [modes total, in, out, 2]: (re, im)
        self.modes = list(modes)

    def forward(self, x):
        d = len(self.modes)
        dims = tuple(range(x.dim() - d, x.dim()))
        grid = x.shape[2:]
        x_ft = torch.fft.rfftn(x, dim=dims)
        spectrum = x_ft.shape[2:]
        b, cin = x.shape[:2]
        corners = [_corner_slices(c, self.modes, spectrum) for c in range(1 << (d - 1))]
        perm = tuple(range(2, 2 + d)) + (0, 1)
        flat = torch.cat([x_ft[i].permute(perm).reshape(-1, b, cin) for i in corners])  # [M, B, in]
        mixed = torch.bmm(flat, torch.view_as_complex(self.weight.contiguous()))  # [M, B, out]
        cout = mixed.shape[-1]
        out_ft = torch.zeros((b, cout, *spectrum), dtype=x_ft.dtype, device=x.device)
        per_corner = math.prod(self.modes)
        back = (d, d + 1) + tuple(range(d))
        for c, i in enumerate(corners):
            part = mixed[c * per_corner:(c + 1) * per_corner].reshape(*self.modes, b, cout).permute(back)
            out_ft[i] = part
        return torch.fft.irfftn(out_ft, s=grid, dim=dims)


class FNO(nn.Module):
    """Input and output channels-first [B, C, n_1, ..., n_d] in physical units: the input is
    normalised, the output decoded, with the training split's statistics stored in the file."""

    def __init__(self, architecture, tensors):
        super().__init__()
        a = architecture
        self.architecture = a
        self.dim = a["dim"]
        self.modes = list(a["modes"])
        self.padding = float(a["padding"])
        self.grid_embedding = bool(a["grid_embedding"])

        def p(name):
            if f"param/{name}" not in tensors:
                raise KeyError(f"the model file has no parameter '{name}'")
            return torch.from_numpy(tensors[f"param/{name}"].copy())

        self.lift = Pointwise(p("lift.weight"), p("lift.bias"))
        self.spectral = nn.ModuleList(SpectralConv(p(f"spectral{l}.weight"), self.modes) for l in range(a["layers"]))
        self.skip = nn.ModuleList(Pointwise(p(f"skip{l}.weight"), p(f"skip{l}.bias")) for l in range(a["layers"]))
        self.project_hidden = Pointwise(p("project_hidden.weight"), p("project_hidden.bias"))
        self.project_out = Pointwise(p("project_out.weight"), p("project_out.bias"))
        for field in ("x", "y"):
            for stat in ("mean", "std"):
                key = f"normalizer/{field}_{stat}"
                value = torch.from_numpy(tensors[key].copy()) if key in tensors else None
                self.register_buffer(f"{field}_{stat}", value)

    def _stat(self, name, like):
        return getattr(self, name).to(like.dtype).view(1, -1, *([1] * (like.dim() - 2)))

    def forward(self, x):
        d = self.dim
        if not torch.jit.is_tracing() and (x.dim() != d + 2 or x.shape[1] != self.architecture["in_channels"]):
            raise ValueError(f"expected input [batch, {self.architecture['in_channels']}, {d} spatial dims], "
                             f"got {list(x.shape)}")
        steps = int(self.architecture.get("rollout_steps", 0))
        if steps == 0:
            return self.step(x)
        # Autoregressive: each output joins the input window, whose oldest out_channels drop out.
        out_c, outputs = self.architecture["out_channels"], []
        for _ in range(steps):
            outputs.append(self.step(x))
            x = torch.cat([x[:, out_c:], outputs[-1]], dim=1)
        return torch.cat(outputs, dim=1)

    def step(self, x):
        """One application of the network (the whole forward without rollout_steps)."""
        d = self.dim
        if self.x_mean is not None:
            x = (x - self._stat("x_mean", x)) / self._stat("x_std", x)
        if self.grid_embedding:  # coordinates in [0, 1] with both ends, one channel per dimension
            coords = []
            for k in range(d):
                n = x.shape[2 + k]
                view = [1] * (2 + d)
                view[2 + k] = n
                coords.append(torch.linspace(0.0, 1.0, n, dtype=x.dtype, device=x.device).view(view)
                              .expand(x.shape[0], 1, *x.shape[2:]))
            x = torch.cat([x] + coords, dim=1)
        x = self.lift(x)
        grid = x.shape[2:]
        if self.padding > 0:  # zeros after the end of each dimension, round(padding * n) points (half away from 0)
            pad = []
            for k in reversed(range(d)):
                pad += [0, int(math.floor(self.padding * grid[k] + 0.5))]
            x = F.pad(x, pad)
        layers = len(self.spectral)
        for l in range(layers):
            x = self.skip[l](x) + self.spectral[l](x)
            if l + 1 < layers:
                x = F.gelu(x)
        if self.padding > 0:
            x = x[(slice(None), slice(None)) + tuple(slice(0, n) for n in grid)]
        x = self.project_out(F.gelu(self.project_hidden(x)))
        if self.y_mean is not None:
            x = x * self._stat("y_std", x) + self._stat("y_mean", x)
        return x


def load(path, device="cpu"):
    """The model of an exported file (`fourmi export`) as an FNO module in eval mode."""
    tensors, metadata = read(path)
    fmt = metadata.get("format")
    if fmt == "fourmi-checkpoint":
        raise ValueError(f"{path}: a training checkpoint; run `fourmi export --checkpoint {path}` and load its output "
                         "(it joins mode blocks and adds the normalisation statistics)")
    if fmt != "fourmi-model":
        raise ValueError(f"{path}: format '{fmt}'; expected 'fourmi-model' (written by `fourmi export`)")
    architecture = json.loads(metadata["architecture"])
    if architecture.get("name") != "fno":
        raise ValueError(f"{path}: model '{architecture.get('name')}'; this loader builds 'fno'")
    model = FNO(architecture, tensors).to(device)
    model.metadata = metadata
    return model.eval()


__all__ = ["FNO", "SpectralConv", "Pointwise", "load"]
