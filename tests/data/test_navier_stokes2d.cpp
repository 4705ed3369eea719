// Navier-Stokes generator: Taylor-Green decay, the forcing's steady state, agreement with a
// twice finer solve, and the periodic GRF's spectrum.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "fourmi/config/config.h"
#include "fourmi/data/grf.h"
#include "fourmi/data/navier_stokes2d.h"
#include "fourmi/data/pde_generator.h"

using namespace fourmi::data;
using torch::indexing::None;
using torch::indexing::Slice;

namespace {
torch::Tensor grid_x(int64_t n) { return torch::arange(n, torch::kFloat64) / static_cast<double>(n); }
}  // namespace

TEST(NavierStokes2d, TaylorGreenVortexDecaysExactly) {
  // w = 2 (2 pi) cos(2 pi x) cos(2 pi y) is a steady Euler flow: u . grad w = 0, so
  // w(t) = w0 exp(-2 nu (2 pi)^2 t). Crank-Nicolson's decay factor is within O(dt^3) per step.
  const int64_t n = 32;
  const double nu = 0.01;
  auto x = grid_x(n);
  auto w0 = (4 * M_PI * torch::cos(2 * M_PI * x).unsqueeze(1) * torch::cos(2 * M_PI * x).unsqueeze(0)).unsqueeze(0);
  NavierStokesParams p{nu, 0.5, 2, 0.5, 1e-3};
  auto w = solve_navier_stokes2d(w0, torch::zeros({n, n}, torch::kFloat64), p);
  for (int s = 0; s < 2; ++s) {
    auto expect = w0[0] * std::exp(-2 * nu * 4 * M_PI * M_PI * 0.5 * (s + 1));
    double rel = ((w[0][s] - expect).norm() / expect.norm()).item<double>();
    EXPECT_LT(rel, 1e-6) << "snapshot " << s;
  }
}

TEST(NavierStokes2d, ForcedFlowApproachesTheStokesSteadyState) {
  // With w0 = 0 the flow stays on the forcing's single Fourier line k = (1, 1), where the
  // nonlinear term vanishes: w(t) = f / (nu |k|^2) (1 - exp(-nu |k|^2 t)).
  const int64_t n = 32;
  const double nu = 0.05, amp = 0.1, t = 1.0;
  auto f = ns_forcing(n, amp, torch::TensorOptions().dtype(torch::kFloat64));
  NavierStokesParams p{nu, t, 1, 0.5, 1e-3};
  auto w = solve_navier_stokes2d(torch::zeros({1, n, n}, torch::kFloat64), f, p);
  const double k2 = 2 * 4 * M_PI * M_PI;
  auto expect = f / (nu * k2) * (1 - std::exp(-nu * k2 * t));
  EXPECT_LT(((w[0][0] - expect).norm() / expect.norm()).item<double>(), 1e-5);
}

TEST(NavierStokes2d, StoredFieldsAgreeWithTwiceFinerSolve) {
  fourmi::config::DatagenConfig c;
  c.pde = "navier_stokes2d";
  c.navier_stokes2d.resolution = 64;
  c.navier_stokes2d.store_resolution = 32;
  c.navier_stokes2d.snapshots = 2;
  c.navier_stokes2d.interval = 1.0;
  auto gen = make_pde_generator(c);
  double diff = gen->refinement_difference(2, 7, torch::kCPU);
  EXPECT_LT(diff, 1e-3) << "relative L2 difference to the 128^2 solve " << diff;
}

TEST(NavierStokes2d, SpectralUpsampleKeepsTheSamples) {
  // A field with no energy on the Nyquist lines is reproduced exactly at the shared nodes.
  auto w_hat = torch::fft::rfft2(periodic_grf_2d(2, 32, 2.5, 7, 18.52, 3, 0, torch::kCPU));
  w_hat.select(-2, 16).zero_();
  w_hat.select(-1, 16).zero_();
  auto w = torch::fft::irfft2(w_hat, {32, 32});
  auto big = spectral_upsample_2d(w, 2);
  ASSERT_EQ(big.size(-1), 64);
  EXPECT_LT(((big.index({Slice(), Slice(0, None, 2), Slice(0, None, 2)}) - w).norm() / w.norm()).item<double>(), 1e-12);
}

TEST(Grf, PeriodicFieldHasTheStatedVarianceAndZeroMean) {
  const int64_t n = 32;
  const double alpha = 2.5, tau = 7, sigma = std::pow(7.0, 1.5);
  double expected = 0;  // sum over all modes but (0,0) of 2 sigma^2 (4 pi^2 |k|^2 + tau^2)^-alpha / 2 (real part)
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      if (i == 0 && j == 0) continue;
      int ki = i <= n / 2 - 1 ? i : i - n, kj = j <= n / 2 - 1 ? j : j - n;
      if (i == n / 2) ki = -n / 2;
      if (j == n / 2) kj = -n / 2;
      expected += sigma * sigma * std::pow(4 * M_PI * M_PI * (ki * ki + kj * kj) + tau * tau, -alpha);
    }
  auto w = periodic_grf_2d(1500, n, alpha, tau, sigma, 1, 0, torch::kCPU);
  EXPECT_LT(w.mean({1, 2}).abs().max().item<double>(), 1e-10);
  double var = w.pow(2).mean().item<double>();
  EXPECT_NEAR(var / expected, 1.0, 0.05) << "sample variance " << var << " expected " << expected;
}
