// darcy2d.h — steady Darcy flow -div(a grad u) = f on the unit square, u = 0 on the boundary, batched.
//
// Second-order finite differences on the (n x n)-node grid x_i = i / (n - 1) (five-point
// stencil, face coefficients the arithmetic mean of the two nodes), solved for the
// (n-2)^2 interior unknowns by conjugate gradients with a Jacobi preconditioner. Every
// sample of the batch runs its own CG recurrence; the loop stops when all samples reached
// ||f - A u|| <= tol ||f|| and throws if any has not after max_iter iterations.
#pragma once

#include <torch/types.h>

namespace fourmi::data {

struct DarcySolveStats {
  int64_t iterations = 0;         // of the slowest sample
  double max_rel_residual = 0;    // ||f - A u|| / ||f||, worst sample, at exit
};

// The piecewise-constant permeability of the FNO benchmark: a_pos where mu >= 0, a_neg elsewhere.
torch::Tensor darcy_coefficient(const torch::Tensor& mu, double a_pos, double a_neg);

// Applies the discrete operator A to interior values u: [B, n-2, n-2] for a: [B, n, n].
torch::Tensor darcy_apply(const torch::Tensor& a, const torch::Tensor& u_interior);

// a: [B, n, n] float64 node values; f: right-hand side, a scalar source.
// Returns u: [B, n, n] with zero boundary rows/columns.
torch::Tensor solve_darcy2d(const torch::Tensor& a, double f, double tol, int64_t max_iter,
                            DarcySolveStats* stats = nullptr);

}  // namespace fourmi::data
