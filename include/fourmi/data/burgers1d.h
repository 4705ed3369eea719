// burgers1d.h — periodic viscous Burgers u_t + (u^2/2)_x = nu u_xx on [0, 1), batched.
//
// Pseudo-spectral in space with 2/3 dealiasing of the nonlinear term, integrating-factor
// RK4 in time (the viscous term is integrated exactly). The step is fixed per batch from
// the CFL number and max|u0|, which bounds |u| for all t (maximum principle).
#pragma once

#include <torch/types.h>

#include "fourmi/config/config.h"

namespace fourmi::data {

struct BurgersSolveStats {
  int64_t steps = 0;
  double dt = 0;
};

// u0: [B, n] float64 on any device → u(t_final): [B, n] float64.
torch::Tensor solve_burgers1d(const torch::Tensor& u0, double viscosity, double t_final, double cfl,
                              BurgersSolveStats* stats = nullptr);

}  // namespace fourmi::data
