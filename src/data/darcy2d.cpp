#include "fourmi/data/darcy2d.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <stdexcept>

namespace fourmi::data {

using torch::indexing::None;
using torch::indexing::Slice;

torch::Tensor darcy_coefficient(const torch::Tensor& mu, double a_pos, double a_neg) {
  return torch::where(mu >= 0, torch::full_like(mu, a_pos), torch::full_like(mu, a_neg));
}

namespace {
// Face coefficients of the cell-centred scheme, h = 1/n. Interior faces carry the arithmetic mean of
// the two cells; a boundary face carries 2 a of its cell, so that with u = 0 outside (zero padding)
// the flux 2 a u / h is that of the Dirichlet value u = 0 on the face, h/2 from the centre.
struct Faces {
  torch::Tensor ax;  // [B, n+1, n]: face i lies between cells (i-1, j) and (i, j); i = 0 and n on the boundary
  torch::Tensor ay;  // [B, n, n+1]: face j lies between cells (i, j-1) and (i, j)
  double inv_h2;
};

Faces faces_of(const torch::Tensor& a) {
  const int64_t n = a.size(-1);
  const double h = 1.0 / static_cast<double>(n);
  Faces f;
  f.ax = torch::cat(
      {2.0 * a.narrow(1, 0, 1), 0.5 * (a.narrow(1, 1, n - 1) + a.narrow(1, 0, n - 1)), 2.0 * a.narrow(1, n - 1, 1)}, 1);
  f.ay = torch::cat(
      {2.0 * a.narrow(2, 0, 1), 0.5 * (a.narrow(2, 1, n - 1) + a.narrow(2, 0, n - 1)), 2.0 * a.narrow(2, n - 1, 1)}, 2);
  f.inv_h2 = 1.0 / (h * h);
  return f;
}

torch::Tensor apply_faces(const Faces& f, const torch::Tensor& u) {
  torch::Tensor p = torch::constant_pad_nd(u, {1, 1, 1, 1});  // u = 0 beyond the boundary faces
  torch::Tensor flux_x =
      f.ax * (p.index({Slice(), Slice(1, None), Slice(1, -1)}) - p.index({Slice(), Slice(None, -1), Slice(1, -1)}));
  torch::Tensor flux_y =
      f.ay * (p.index({Slice(), Slice(1, -1), Slice(1, None)}) - p.index({Slice(), Slice(1, -1), Slice(None, -1)}));
  torch::Tensor div = flux_x.index({Slice(), Slice(1, None)}) - flux_x.index({Slice(), Slice(None, -1)}) +
                      flux_y.index({Slice(), Slice(), Slice(1, None)}) -
                      flux_y.index({Slice(), Slice(), Slice(None, -1)});
  return -f.inv_h2 * div;
}

torch::Tensor batch_dot(const torch::Tensor& a, const torch::Tensor& b) { return (a * b).sum({1, 2}); }
}  // namespace

torch::Tensor darcy_apply(const torch::Tensor& a, const torch::Tensor& u) { return apply_faces(faces_of(a), u); }

torch::Tensor solve_darcy2d(const torch::Tensor& a, double f, double tol, int64_t max_iter, DarcySolveStats* stats) {
  if (a.dim() != 3 || a.size(1) != a.size(2) || a.size(1) < 2)
    throw std::invalid_argument("solve_darcy2d: a must be [B, n, n] with n >= 2");
  torch::NoGradGuard no_grad;
  const Faces faces = faces_of(a);
  const int64_t m = a.size(1);  // every cell is an unknown
  // Jacobi preconditioner: the diagonal of A, the four face coefficients of each unknown.
  torch::Tensor diag =
      faces.inv_h2 *
      (faces.ax.index({Slice(), Slice(1, None)}) + faces.ax.index({Slice(), Slice(None, -1)}) +
       faces.ay.index({Slice(), Slice(), Slice(1, None)}) + faces.ay.index({Slice(), Slice(), Slice(None, -1)}));
  torch::Tensor inv_diag = 1.0 / diag;
  torch::Tensor b = torch::full({a.size(0), m, m}, f, a.options());
  torch::Tensor u = torch::zeros_like(b);
  torch::Tensor r = b.clone();
  torch::Tensor z = r * inv_diag;
  torch::Tensor p = z.clone();
  torch::Tensor rz = batch_dot(r, z);
  torch::Tensor b_norm = b.flatten(1).norm(2, 1);
  const double tol2 = tol * tol;
  int64_t it = 0;
  torch::Tensor active = torch::ones({a.size(0)}, a.options().dtype(torch::kBool));
  auto view = [](const torch::Tensor& s) { return s.view({-1, 1, 1}); };
  // Convergence is checked every `check_every` iterations: each check is a device sync.
  const int64_t check_every = 16;
  while (true) {
    if (it % check_every == 0) {
      torch::Tensor rel2 = batch_dot(r, r) / (b_norm * b_norm);
      active = rel2 > tol2;
      if (!active.any().item<bool>()) break;
      if (it >= max_iter) {
        double worst = std::sqrt(rel2.max().item<double>());
        throw std::runtime_error(
            fmt::format("darcy2d: conjugate gradients did not reach relative residual {:.1e} in {} iterations "
                        "(worst sample {:.2e}); raise datagen.darcy2d.max_iter or the tolerance",
                        tol, max_iter, worst));
      }
    }
    torch::Tensor ap = apply_faces(faces, p);
    torch::Tensor p_ap = batch_dot(p, ap);
    // Converged samples stop moving (alpha = 0), so no 0/0 appears once their residual vanishes.
    torch::Tensor alpha = torch::where(active & (p_ap > 0), rz / p_ap, torch::zeros_like(rz));
    u.add_(view(alpha) * p);
    r.sub_(view(alpha) * ap);
    z = r * inv_diag;
    torch::Tensor rz_new = batch_dot(r, z);
    torch::Tensor beta = torch::where(active & (rz > 0), rz_new / rz, torch::zeros_like(rz));
    p = z + view(beta) * p;
    rz = torch::where(active, rz_new, rz);
    ++it;
  }
  if (stats) {
    stats->iterations = it;
    // The true residual, recomputed from u (the recurrence's r drifts from it in floating point).
    stats->max_rel_residual = ((b - apply_faces(faces, u)).flatten(1).norm(2, 1) / b_norm).max().item<double>();
  }
  return u;
}

}  // namespace fourmi::data
