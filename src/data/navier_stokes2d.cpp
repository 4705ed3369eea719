#include "fourmi/data/navier_stokes2d.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace fourmi::data {

using torch::indexing::None;
using torch::indexing::Slice;

torch::Tensor ns_forcing(int64_t n, double amplitude, torch::TensorOptions options) {
  torch::Tensor x = torch::arange(n, options) / static_cast<double>(n);
  torch::Tensor s = 2.0 * M_PI * (x.unsqueeze(1) + x.unsqueeze(0));
  return amplitude * (torch::sin(s) + torch::cos(s));
}

namespace {
// Wavenumbers of the rfft2 layout [n, n/2 + 1]: kx along dim -2 (full), ky along dim -1 (half).
struct Spectrum {
  torch::Tensor kx, ky;   // angular, 2 pi k
  torch::Tensor k2;       // |k|^2 (angular), with k2[0,0] = 1 so psi's mean mode is zero, not inf
  torch::Tensor dealias;  // 2/3 rule mask
};

Spectrum spectrum(int64_t n, torch::TensorOptions f64) {
  Spectrum s;
  torch::Tensor fx = torch::fft::fftfreq(n, 1.0 / static_cast<double>(n), f64);
  torch::Tensor fy = torch::fft::rfftfreq(n, 1.0 / static_cast<double>(n), f64);
  s.kx = (2.0 * M_PI * fx).unsqueeze(1);
  s.ky = (2.0 * M_PI * fy).unsqueeze(0);
  s.k2 = s.kx * s.kx + s.ky * s.ky;
  s.k2.index_put_({0, 0}, 1.0);
  s.dealias = ((fx.abs() < n / 3.0).unsqueeze(1) & (fy.abs() < n / 3.0).unsqueeze(0)).to(f64.dtype());
  return s;
}

torch::Tensor imag_unit_times(const torch::Tensor& k, const torch::Tensor& z) {
  return torch::complex(torch::zeros_like(k), k) * z;
}
}  // namespace

torch::Tensor solve_navier_stokes2d(const torch::Tensor& w0, const torch::Tensor& forcing, const NavierStokesParams& p,
                                    NavierStokesSolveStats* stats) {
  torch::NoGradGuard no_grad;
  const int64_t n = w0.size(-1);
  auto f64 = w0.options();
  const Spectrum sp = spectrum(n, f64);
  torch::Tensor f_hat = torch::fft::rfft2(forcing.to(f64));
  torch::Tensor psi_from_w = 1.0 / sp.k2;
  psi_from_w.index_put_({0, 0}, 0.0);

  // Explicit part of the right-hand side in spectral space: -dealias(u . grad w) + f.
  auto explicit_rhs = [&](const torch::Tensor& w_hat, double* max_speed) {
    torch::Tensor psi_hat = w_hat * psi_from_w;
    torch::Tensor u = torch::fft::irfft2(imag_unit_times(sp.ky, psi_hat), {n, n});
    torch::Tensor v = torch::fft::irfft2(imag_unit_times(-sp.kx, psi_hat), {n, n});
    torch::Tensor wx = torch::fft::irfft2(imag_unit_times(sp.kx, w_hat), {n, n});
    torch::Tensor wy = torch::fft::irfft2(imag_unit_times(sp.ky, w_hat), {n, n});
    if (max_speed) *max_speed = torch::sqrt(u * u + v * v).max().item<double>();
    return -sp.dealias * torch::fft::rfft2(u * wx + v * wy) + f_hat;
  };

  const double dx = 1.0 / static_cast<double>(n);
  torch::Tensor w_hat = torch::fft::rfft2(w0);
  std::vector<torch::Tensor> out;
  out.reserve(p.snapshots);
  NavierStokesSolveStats st;
  st.min_dt = p.dt_max;
  for (int64_t snap = 0; snap < p.snapshots; ++snap) {
    double speed = 0;
    explicit_rhs(w_hat, &speed);
    st.max_speed = std::max(st.max_speed, speed);
    const double dt_cfl = speed > 0 ? p.cfl * dx / speed : p.dt_max;
    const int64_t steps =
        std::max<int64_t>(1, static_cast<int64_t>(std::ceil(p.interval / std::min(p.dt_max, dt_cfl))));
    const double dt = p.interval / static_cast<double>(steps);
    st.min_dt = std::min(st.min_dt, dt);
    torch::Tensor lhs = 1.0 / (1.0 + 0.5 * dt * p.viscosity * sp.k2);  // Crank-Nicolson
    torch::Tensor rhs_diag = 1.0 - 0.5 * dt * p.viscosity * sp.k2;
    lhs.index_put_({0, 0}, 1.0);
    rhs_diag.index_put_({0, 0}, 1.0);
    for (int64_t s = 0; s < steps; ++s) {
      torch::Tensor g0 = explicit_rhs(w_hat, nullptr);
      torch::Tensor pred = (rhs_diag * w_hat + dt * g0) * lhs;
      torch::Tensor g1 = explicit_rhs(pred, nullptr);
      w_hat = (rhs_diag * w_hat + (0.5 * dt) * (g0 + g1)) * lhs;
    }
    st.steps += steps;
    out.push_back(torch::fft::irfft2(w_hat, {n, n}));
  }
  if (stats) *stats = st;
  return torch::stack(out, 1);
}

torch::Tensor spectral_upsample_2d(const torch::Tensor& w, int64_t factor) {
  const int64_t n = w.size(-1), m = n * factor;
  torch::Tensor w_hat = torch::fft::rfft2(w);  // [..., n, n/2+1]
  std::vector<int64_t> shape(w.sizes().begin(), w.sizes().end());
  shape[shape.size() - 2] = m;
  shape[shape.size() - 1] = m / 2 + 1;
  torch::Tensor big = torch::zeros(shape, w_hat.options());
  const int64_t half = n / 2;  // keep |kx| < n/2 and ky < n/2: the Nyquist lines are dropped (zero for smooth fields)
  big.index_put_({"...", Slice(0, half), Slice(0, half)}, w_hat.index({"...", Slice(0, half), Slice(0, half)}));
  big.index_put_({"...", Slice(m - half + 1, m), Slice(0, half)},
                 w_hat.index({"...", Slice(n - half + 1, n), Slice(0, half)}));
  const double scale = static_cast<double>(m * m) / static_cast<double>(n * n);
  return torch::fft::irfft2(big * scale, {m, m});
}

}  // namespace fourmi::data
