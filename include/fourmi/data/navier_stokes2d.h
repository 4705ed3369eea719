// navier_stokes2d.h — 2D incompressible Navier-Stokes in vorticity form on the unit torus, batched.
//
//   w_t + u . grad w = nu Lap w + f,   u = (psi_y, -psi_x),   -Lap psi = w
//
// Pseudo-spectral in space (rfft2, 2/3 dealiasing of the nonlinear term), Crank-Nicolson on
// the viscous term and Heun's predictor-corrector (second order) on advection and forcing.
// The step is fixed per snapshot interval from a CFL number on the current max |u|, capped
// by dt_max, so each interval ends exactly on the snapshot time.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace fourmi::data {

struct NavierStokesSolveStats {
  int64_t steps = 0;
  double min_dt = 0;
  double max_speed = 0;
};

struct NavierStokesParams {
  double viscosity = 1e-3;
  double interval = 1.0;   // time between snapshots
  int64_t snapshots = 50;  // recorded at t = interval, 2 interval, ...
  double cfl = 0.5;
  double dt_max = 1e-2;
};

// The FNO benchmark forcing amplitude * (sin 2 pi (x + y) + cos 2 pi (x + y)) on the n x n grid.
torch::Tensor ns_forcing(int64_t n, double amplitude, torch::TensorOptions options);

// w0: [B, n, n] float64, forcing: [n, n] (or zeros). Returns snapshots [B, snapshots, n, n].
torch::Tensor solve_navier_stokes2d(const torch::Tensor& w0, const torch::Tensor& forcing, const NavierStokesParams& p,
                                    NavierStokesSolveStats* stats = nullptr);

// Trigonometric interpolation of periodic [..., n, n] fields onto a (factor n)^2 grid.
torch::Tensor spectral_upsample_2d(const torch::Tensor& w, int64_t factor);

}  // namespace fourmi::data
