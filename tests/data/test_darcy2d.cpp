// Darcy generator: the PCG residual checked by an independent stencil, second-order convergence
// on a manufactured problem, the thresholded coefficient, and the Neumann GRF's spectrum.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "fourmi/data/darcy2d.h"
#include "fourmi/data/grf.h"

using namespace fourmi::data;
using torch::indexing::None;
using torch::indexing::Slice;

namespace {
// -div(a grad u) at interior node (i, j), written out node by node (no tensor slicing).
double stencil(const torch::TensorAccessor<double, 2>& a, const torch::TensorAccessor<double, 2>& u, int64_t i, int64_t j,
               double h) {
  auto face = [&](int64_t i2, int64_t j2) { return 0.5 * (a[i][j] + a[i2][j2]); };
  double s = face(i + 1, j) * (u[i][j] - u[i + 1][j]) + face(i - 1, j) * (u[i][j] - u[i - 1][j]) +
             face(i, j + 1) * (u[i][j] - u[i][j + 1]) + face(i, j - 1) * (u[i][j] - u[i][j - 1]);
  return s / (h * h);
}
}  // namespace

TEST(Darcy2d, SolveMeetsToleranceByAnIndependentResidual) {
  const int64_t n = 41;
  const double tol = 1e-9;
  auto mu = neumann_grf_2d(2, n, n, 2.0, 3.0, 1.0, 5, 0, torch::kCPU);
  auto a = darcy_coefficient(mu, 12.0, 3.0);
  DarcySolveStats st;
  auto u = solve_darcy2d(a, 1.0, tol, 5000, &st);
  EXPECT_LE(st.max_rel_residual, tol);
  EXPECT_GT(st.iterations, 10);
  const double h = 1.0 / (n - 1);
  for (int64_t b = 0; b < 2; ++b) {
    torch::Tensor ub = u[b].contiguous(), ab = a[b].contiguous();
    auto ua = ub.accessor<double, 2>();
    auto aa = ab.accessor<double, 2>();
    double r2 = 0, f2 = 0;
    for (int64_t i = 1; i < n - 1; ++i)
      for (int64_t j = 1; j < n - 1; ++j) {
        double r = 1.0 - stencil(aa, ua, i, j, h);
        r2 += r * r, f2 += 1.0;
      }
    EXPECT_LE(std::sqrt(r2 / f2), tol * 1.01) << "sample " << b;
    for (int64_t i = 0; i < n; ++i) {  // homogeneous Dirichlet boundary
      EXPECT_EQ(ua[0][i], 0.0);
      EXPECT_EQ(ua[n - 1][i], 0.0);
      EXPECT_EQ(ua[i][0], 0.0);
      EXPECT_EQ(ua[i][n - 1], 0.0);
    }
  }
  EXPECT_GT(u.min().item<double>(), -1e-12);  // maximum principle: f = 1 > 0 gives u >= 0
}

TEST(Darcy2d, ConstantCoefficientConvergesAtSecondOrder) {
  // a = 1, f = 1: compare with the series solution of -Lap u = 1 on the unit square.
  auto exact_center = [] {
    double s = 0;
    for (int k = 1; k < 400; k += 2)
      for (int l = 1; l < 400; l += 2)
        s += 16.0 / (M_PI * M_PI * k * l * M_PI * M_PI * (k * k + l * l)) * std::sin(M_PI * k / 2) * std::sin(M_PI * l / 2);
    return s;
  }();
  double err[2];
  int64_t sizes[2] = {17, 33};
  for (int t = 0; t < 2; ++t) {
    auto a = torch::ones({1, sizes[t], sizes[t]}, torch::kFloat64);
    auto u = solve_darcy2d(a, 1.0, 1e-12, 5000);
    err[t] = std::abs(u[0][sizes[t] / 2][sizes[t] / 2].item<double>() - exact_center);
  }
  EXPECT_NEAR(std::log2(err[0] / err[1]), 2.0, 0.2) << "errors " << err[0] << " " << err[1];
}

TEST(Darcy2d, CoefficientIsTwoValuedAndFollowsTheSignOfMu) {
  auto mu = neumann_grf_2d(3, 32, 32, 2.0, 3.0, 1.0, 9, 0, torch::kCPU);
  auto a = darcy_coefficient(mu, 12.0, 3.0);
  EXPECT_TRUE(torch::equal(a == 12.0, mu >= 0));
  EXPECT_TRUE(((a == 12.0) | (a == 3.0)).all().item<bool>());
  double frac = (a == 12.0).to(torch::kFloat64).mean().item<double>();
  EXPECT_GT(frac, 0.1);
  EXPECT_LT(frac, 0.9);
}

TEST(Grf, NeumannFieldHasTheStatedVariance) {
  // E mu(x)^2 = sum_k sigma^2 (pi^2 |k|^2 + tau^2)^-gamma phi_k(x)^2 with phi_k = c_k1 c_k2 cos cos.
  const int64_t modes = 24, grid = 25, samples = 20000;
  const double gamma = 2.0, tau = 3.0, sigma = 1.0;
  std::vector<double> x(grid), lambda(modes * modes);
  double expected = 0;
  for (int64_t i = 0; i < grid; ++i)
    for (int64_t j = 0; j < grid; ++j)
      for (int k = 0; k < modes; ++k)
        for (int l = 0; l < modes; ++l) {
          double pk = (k ? std::sqrt(2.0) : 1.0) * std::cos(M_PI * k * i / (grid - 1.0));
          double pl = (l ? std::sqrt(2.0) : 1.0) * std::cos(M_PI * l * j / (grid - 1.0));
          expected += sigma * sigma * std::pow(M_PI * M_PI * (k * k + l * l) + tau * tau, -gamma) * pk * pk * pl * pl;
        }
  expected /= static_cast<double>(grid * grid);
  auto mu = neumann_grf_2d(samples, modes, grid, gamma, tau, sigma, 2, 0, torch::kCPU);
  double var = mu.pow(2).mean().item<double>();
  // Over half of the variance sits in the mean mode, one Gaussian per sample: about 1% sampling error here.
  EXPECT_NEAR(var / expected, 1.0, 0.05) << "sample variance " << var << " expected " << expected;
  // The same series evaluated on a finer grid agrees at the shared nodes.
  auto fine = neumann_grf_2d(2, modes, 2 * grid - 1, gamma, tau, sigma, 2, 0, torch::kCPU);
  EXPECT_TRUE(torch::allclose(fine.index({Slice(), Slice(0, None, 2), Slice(0, None, 2)}), mu.narrow(0, 0, 2), 1e-10, 1e-12));
}
