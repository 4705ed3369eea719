#!/usr/bin/env python3
"""write_sources.py OUTDIR — datasets in the layouts of other programs, for tests/e2e/test_import.sh.

Each holds a simple, learnable operator (exact heat-equation solutions, a smoothing of a
piecewise-constant coefficient), written the way its source program writes it:
  pdebench_burgers.h5   PDEBench 1D layout: /tensor [N, T, X] float32, /x-coordinate, /t-coordinate
  darcy_v5.mat          the FNO paper's Darcy layout, MATLAB v5 (scipy.io.savemat): coeff, sol [N, s, s] double
  ns_v73.mat            the FNO paper's Navier-Stokes layout, MATLAB v7.3 (HDF5 with MATLAB's 512-byte
                        header, arrays stored in reversed axis order): u [N, s, s, T], a [N, s, s]
  pdebench_darcy.h5     PDEBench 2D Darcy layout: /nu [N, X, Y], /tensor [N, 1, X, Y] float32
  pdebench_ns.h5        PDEBench 2D incompressible NS layout: /velocity [N, T, X, Y, 2] float32
  generic.h5            /fields/w [N, X, Y, T] float64 (a user's own file, time last)
  npy/inputs.npy        [N, 1, X] float32 (C order);  npy/targets.npy [N, 1, X] float64 (Fortran order)
"""
import os
import sys

import h5py
import numpy as np
import scipy.io

rng = np.random.default_rng(7)


def heat_1d(n, x_points, times, nu=0.02):
    k = np.fft.rfftfreq(x_points, 1.0 / x_points)
    coef = (rng.normal(size=(n, k.size)) + 1j * rng.normal(size=(n, k.size))) / (1 + k) ** 2
    coef[:, 0] = 0
    out = [np.fft.irfft(coef * np.exp(-nu * (2 * np.pi * k) ** 2 * t), n=x_points) for t in times]
    return np.stack(out, axis=1) * x_points  # [n, T, X]


def heat_2d(n, s, times, nu=0.005):
    k = np.fft.fftfreq(s, 1.0 / s)
    kk = k[:, None] ** 2 + k[None, :] ** 2
    coef = (rng.normal(size=(n, s, s)) + 1j * rng.normal(size=(n, s, s))) / (1 + kk)
    coef[:, 0, 0] = 0
    out = [np.real(np.fft.ifft2(coef * np.exp(-nu * 4 * np.pi ** 2 * kk * t))) for t in times]
    return np.stack(out, axis=-1) * s * s  # [n, s, s, T]


def write_mat73(path, variables):
    """A MATLAB v7.3 file: HDF5 with a 512-byte user block whose first 128 bytes are MATLAB's header."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, a in variables.items():
            d = f.create_dataset(name, data=np.ascontiguousarray(a.T))  # MATLAB stores column-major
            t = h5py.h5t.C_S1.copy()  # a NUL-terminated fixed-length string, as MATLAB writes it
            t.set_size(7)  # with its NUL
            t.set_strpad(h5py.h5t.STR_NULLTERM)
            d.attrs.create("MATLAB_class", np.bytes_("double"), dtype=h5py.Datatype(t))
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Dec  3 00:00:00 2026 HDF5 schema 1.00 ."
    header = header.ljust(116, b" ") + b"\0" * 8 + (0x0200).to_bytes(2, "little") + b"IM"
    with open(path, "r+b") as f:
        f.write(header)


def main(out):
    os.makedirs(os.path.join(out, "npy"), exist_ok=True)
    # PDEBench 1D Burgers layout (u(t=0) -> u(t=T) here from heat solutions), float32.
    times = np.linspace(0.0, 1.0, 11)
    u = heat_1d(40, 128, times).astype(np.float32)
    with h5py.File(os.path.join(out, "pdebench_burgers.h5"), "w") as f:
        f["tensor"] = u
        f["x-coordinate"] = np.linspace(0, 1, 128, endpoint=False, dtype=np.float32)
        f["t-coordinate"] = np.linspace(0, 1.01, 12, dtype=np.float32)
    # Darcy, MATLAB v5: piecewise-constant coefficients and a smoothed response.
    s = 32
    mu = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(40, s, s))) / (1 + np.add.outer(
        np.fft.fftfreq(s, 1.0 / s) ** 2, np.fft.fftfreq(s, 1.0 / s) ** 2))))
    coeff = np.where(mu >= 0, 12.0, 3.0)
    kk = np.add.outer(np.fft.fftfreq(s, 1.0 / s) ** 2, np.fft.fftfreq(s, 1.0 / s) ** 2)
    sol = np.real(np.fft.ifft2(np.fft.fft2(1.0 / coeff) / (1 + 0.1 * kk)))
    scipy.io.savemat(os.path.join(out, "darcy_v5.mat"), {"coeff": coeff, "sol": sol}, format="5")
    with h5py.File(os.path.join(out, "pdebench_darcy.h5"), "w") as f:
        f["nu"] = coeff.astype(np.float32)
        f["tensor"] = sol[:, None].astype(np.float32)
    # PDEBench NS layout: two "velocity components" from two heat solutions, time before space.
    vel = np.stack([heat_2d(6, 16, np.linspace(0.0, 1.0, 8)) for _ in range(2)], axis=-1)  # [n, s, s, T, 2]
    with h5py.File(os.path.join(out, "pdebench_ns.h5"), "w") as f:
        f["velocity"] = np.transpose(vel, (0, 3, 1, 2, 4)).astype(np.float32)
    # Navier-Stokes layout, MATLAB v7.3: u [N, s, s, T] and a = u at t = 0.
    w = heat_2d(24, 16, np.linspace(0.0, 1.0, 10))
    write_mat73(os.path.join(out, "ns_v73.mat"), {"u": w[..., 1:], "a": w[..., 0]})
    # A user's own HDF5 file, time last, float64, in a group.
    with h5py.File(os.path.join(out, "generic.h5"), "w") as f:
        f.create_group("fields")["w"] = w
    # NumPy: inputs C-ordered float32, targets Fortran-ordered float64.
    v = heat_1d(30, 64, [0.0, 0.5])
    np.save(os.path.join(out, "npy", "inputs.npy"), v[:, :1].astype(np.float32))
    np.save(os.path.join(out, "npy", "targets.npy"), np.asfortranarray(v[:, 1:]))


if __name__ == "__main__":
    main(sys.argv[1])
