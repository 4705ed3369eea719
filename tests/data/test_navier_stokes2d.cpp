// Navier-Stokes generator: Taylor-Green decay, the forcing's steady state, agreement with a
// twice finer solve, and the initial vorticity and time stepping against the FNO paper's generator.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

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

// --- Against the FNO paper's generator (random_fields.py + ns_2d.py), re-implemented from its text.
//
// random_fields.py, GaussianRF(2, s, alpha, tau), sigma = tau^(0.5 (2 alpha - 2)), with the
// wavenumbers k = [0..s/2-1, -s/2..-1] per axis (k_x along the first axis):
//   sqrt_eig = s^2 sqrt(2) sigma (4 pi^2 |k|^2 + tau^2)^(-alpha/2), sqrt_eig[0,0] = 0
//   coeff = sqrt_eig * (xi + i eta), xi, eta standard normals (torch.randn(N, s, s, 2))
//   w0 = real part of the unnormalised inverse DFT with its 1/s^2.
namespace {
int64_t original_wavenumber(int64_t index, int64_t s) { return index < s / 2 ? index : index - s; }

// Per-mode variances of random_fields.py's w0: mode k contributes
// (sqrt_eig_k / s^2)^2 Var(Re((xi + i eta) e^{i theta})) = 2 sigma^2 (4 pi^2 |k|^2 + tau^2)^-alpha.
std::vector<double> original_mode_variances(int64_t s, double alpha, double tau) {
  const double sigma = std::pow(tau, 0.5 * (2 * alpha - 2));
  std::vector<double> v;
  for (int64_t a = 0; a < s; ++a)
    for (int64_t b = 0; b < s; ++b) {
      if (a == 0 && b == 0) continue;
      const double kx = original_wavenumber(a, s), ky = original_wavenumber(b, s);
      const double amp =
          std::sqrt(2.0) * sigma * std::pow(4 * M_PI * M_PI * (kx * kx + ky * ky) + tau * tau, -alpha / 2);
      v.push_back(amp * amp * 1.0);  // Var(xi cos theta - eta sin theta) = 1
    }
  return v;
}
// Pointwise variance of the original's w0 in closed form: the sum of the per-mode variances.
double original_w0_variance(int64_t s, double alpha, double tau) {
  double var = 0;
  for (double v : original_mode_variances(s, alpha, tau)) var += v;
  return var;
}
}  // namespace

TEST(Grf, PeriodicFieldIsRandomFieldsPyOnTheSameNormals) {
  // Given the normals fourmi draws, its field is the original's, by a plain inverse DFT sum.
  const int64_t s = 16, count = 2;
  const double alpha = 2.5, tau = 7, sigma = std::pow(tau, 0.5 * (2 * alpha - 2));
  auto w = periodic_grf_2d(count, s, alpha, tau, sigma, 23, 4, torch::kCPU);
  auto noise = grf_noise(count, {2, s, s}, 23, 4, torch::kCPU).contiguous();
  auto na = noise.accessor<double, 4>();
  for (int64_t n = 0; n < count; ++n) {
    double max_err = 0, max_ref = 0;
    for (int64_t i = 0; i < s; ++i)
      for (int64_t j = 0; j < s; ++j) {
        double re = 0;
        for (int64_t a = 0; a < s; ++a)
          for (int64_t b = 0; b < s; ++b) {
            if (a == 0 && b == 0) continue;
            const double kx = original_wavenumber(a, s), ky = original_wavenumber(b, s);
            const double sqrt_eig = s * s * std::sqrt(2.0) * sigma *
                                    std::pow(4 * M_PI * M_PI * (kx * kx + ky * ky) + tau * tau, -alpha / 2);
            const double theta = 2 * M_PI * (kx * i + ky * j) / s;
            // Re(sqrt_eig (xi + i eta) e^{i theta}) / s^2
            re += sqrt_eig * (na[n][0][a][b] * std::cos(theta) - na[n][1][a][b] * std::sin(theta)) / (s * s);
          }
        max_err = std::max(max_err, std::abs(re - w[n][i][j].item<double>()));
        max_ref = std::max(max_ref, std::abs(re));
      }
    EXPECT_LT(max_err, 1e-12 * max_ref) << "sample " << n;
  }
}

TEST(NavierStokes2d, InitialVorticityHasTheOriginalsVariance) {
  const fourmi::config::NavierStokes2dConfig c;
  // The defaults are GaussianRF(2, s, alpha=2.5, tau=7) of ns_2d.py, sigma its default.
  EXPECT_DOUBLE_EQ(c.grf_alpha, 2.5);
  EXPECT_DOUBLE_EQ(c.grf_tau, 7.0);
  EXPECT_NEAR(c.grf_sigma, std::pow(c.grf_tau, 0.5 * (2 * c.grf_alpha - 2)), 1e-12);
  // Closed form: std 0.2620 on the stored 64^2 grid and on the solver's 256^2 one (twice the variance,
  // sqrt(2) the std, of N(0, sigma^2 (-Lap + tau^2 I)^-alpha) as written, whose std is 0.1853).
  for (int64_t s : {64, 256}) {
    const double sd = std::sqrt(original_w0_variance(s, c.grf_alpha, c.grf_tau));
    EXPECT_NEAR(sd, 0.2620, 0.0005) << "s = " << s;
  }
  const int64_t s = 32, fields = 4000;
  const std::vector<double> modes = original_mode_variances(s, c.grf_alpha, c.grf_tau);
  double expected = 0, fourth = 0;
  for (double v : modes) expected += v, fourth += v * v;
  // Each field's mean of w^2 over the grid is sum_k v_k (|z_k|^2 / 2 + Re z_k z_-k / 2) (Parseval), of
  // variance 2 sum_k v_k^2: the standard error of the estimate below is known in closed form.
  const double rel_se = std::sqrt(2 * fourth) / expected / std::sqrt(static_cast<double>(fields));
  auto w = periodic_grf_2d(fields, s, c.grf_alpha, c.grf_tau, c.grf_sigma, 1, 0, torch::kCPU);
  EXPECT_LT(w.mean({1, 2}).abs().max().item<double>(), 1e-10);  // zero mean mode
  const double var = w.pow(2).mean().item<double>();
  std::printf(
      "w0 pointwise std at %ld^2 over %ld fields: %.4f; random_fields.py closed form %.4f (std error of the "
      "variance %.2f %%)\n",
      static_cast<long>(s), static_cast<long>(fields), std::sqrt(var), std::sqrt(expected), 100 * rel_se);
  EXPECT_NEAR(var / expected, 1.0, 5 * rel_se) << "sample variance " << var << " expected " << expected;
}

TEST(NavierStokes2d, SolverAgreesWithTheOriginalScheme) {
  // ns_2d.py's time stepping re-implemented from its text (Crank-Nicolson on the viscous term,
  // forward Euler on advection and forcing, fixed dt = 1e-4, 2/3 dealiasing |k| <= (2/3) k_max)
  // against fourmi's solver (Heun, CFL step) from the same w0, to t = 1, at 32^2.
  const fourmi::config::NavierStokes2dConfig c;
  const int64_t s = 32, kmax = s / 2;
  const double visc = c.viscosity, dt = 1e-4, t_final = 1.0;
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  auto w0 = periodic_grf_2d(2, s, c.grf_alpha, c.grf_tau, c.grf_sigma, 9, 0, torch::kCPU);
  auto x = torch::arange(s, f64) / static_cast<double>(s);  // torch.linspace(0, 1, s+1)[:-1]
  auto xy = x.unsqueeze(1) + x.unsqueeze(0);                // meshgrid(t, t, indexing='ij'): X + Y
  auto f = 0.1 * (torch::sin(2 * M_PI * xy) + torch::cos(2 * M_PI * xy));

  auto wn = torch::empty({s}, f64);
  for (int64_t a = 0; a < s; ++a) wn[a] = static_cast<double>(original_wavenumber(a, s));
  auto k_y = wn.unsqueeze(0).expand({s, s}).narrow(1, 0, kmax + 1);  // truncated to the rfft2 half
  auto k_x = wn.unsqueeze(1).expand({s, s}).narrow(1, 0, kmax + 1);
  auto lap = 4 * M_PI * M_PI * (k_x * k_x + k_y * k_y);
  lap.index_put_({0, 0}, 1.0);
  auto dealias = ((k_y.abs() <= (2.0 / 3.0) * kmax) & (k_x.abs() <= (2.0 / 3.0) * kmax)).to(f64);
  auto i_times = [](const torch::Tensor& k) { return torch::complex(torch::zeros_like(k), k); };
  auto dy = i_times(2 * M_PI * k_y), dx = i_times(2 * M_PI * k_x);
  auto f_h = torch::fft::rfft2(f);
  auto w_h = torch::fft::rfft2(w0);
  const int64_t steps = static_cast<int64_t>(std::ceil(t_final / dt));
  for (int64_t j = 0; j < steps; ++j) {
    auto psi_h = w_h / lap;
    auto q = torch::fft::irfft2(dy * psi_h, {s, s});
    auto v = torch::fft::irfft2(-dx * psi_h, {s, s});
    auto w_x = torch::fft::irfft2(dx * w_h, {s, s});
    auto w_y = torch::fft::irfft2(dy * w_h, {s, s});
    auto F_h = dealias * torch::fft::rfft2(q * w_x + v * w_y);
    w_h = (-dt * F_h + dt * f_h + (1.0 - 0.5 * dt * visc * lap) * w_h) / (1.0 + 0.5 * dt * visc * lap);
  }
  auto original = torch::fft::irfft2(w_h, {s, s});

  NavierStokesParams p{visc, t_final, 1, c.cfl, c.dt_max};
  auto mine = solve_navier_stokes2d(w0, ns_forcing(s, c.forcing, f64), p).select(1, 0);
  const double rel = ((mine - original).norm() / original.norm()).item<double>();
  std::printf("w(t=1): relative L2 difference to ns_2d.py's scheme %.2e; std %.4f (w0 %.4f)\n", rel,
              mine.std().item<double>(), w0.std().item<double>());
  // Forward Euler at dt = 1e-4 is first order: its own error, not fourmi's, sets this difference.
  EXPECT_LT(rel, 5e-5);
}
