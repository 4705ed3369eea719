// darcy2d.h — steady Darcy flow -div(a grad u) = f on the unit square, u = 0 on the boundary, batched.
//
// Cell-centred finite volumes on the n x n cells of side h = 1/n: the unknowns and the
// coefficient live at the cell centres ((2i + 1) / (2n), (2j + 1) / (2n)), the points where the
// FNO Darcy generator (GRF.m, Matlab's idct2) evaluates its random field. The flux through an
// interior face uses the arithmetic mean of the two cells' coefficients; through a boundary face
// it uses the cell's own coefficient and the Dirichlet value u = 0 at distance h/2 (a ghost cell
// holding -u). Five-point stencil, symmetric positive definite, solved by conjugate gradients with
// a Jacobi preconditioner. Every sample of the batch runs its own CG recurrence; the loop stops
// when all samples reached ||f - A u|| <= tol ||f|| and throws if any has not after max_iter
// iterations.
#pragma once

#include <torch/types.h>

namespace fourmi::data {

struct DarcySolveStats {
  int64_t iterations = 0;       // of the slowest sample
  double max_rel_residual = 0;  // ||f - A u|| / ||f||, worst sample, at exit
};

// The piecewise-constant permeability of the FNO benchmark: a_pos where mu >= 0, a_neg elsewhere.
torch::Tensor darcy_coefficient(const torch::Tensor& mu, double a_pos, double a_neg);

// Applies the discrete operator A to cell values u: [B, n, n] for a: [B, n, n].
torch::Tensor darcy_apply(const torch::Tensor& a, const torch::Tensor& u);

// a: [B, n, n] float64 cell-centre values; f: right-hand side, a scalar source.
// Returns u: [B, n, n] at the cell centres.
torch::Tensor solve_darcy2d(const torch::Tensor& a, double f, double tol, int64_t max_iter,
                            DarcySolveStats* stats = nullptr);

}  // namespace fourmi::data
