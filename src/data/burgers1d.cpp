#include "fourmi/data/burgers1d.h"

#include <torch/torch.h>

#include <cmath>

namespace fourmi::data {

torch::Tensor solve_burgers1d(const torch::Tensor& u0, double viscosity, double t_final, double cfl,
                              BurgersSolveStats* stats) {
  const int64_t n = u0.size(-1);
  auto opts = u0.options();
  torch::Tensor k = 2.0 * M_PI * torch::fft::rfftfreq(n, 1.0 / static_cast<double>(n), opts);  // angular wavenumbers
  torch::Tensor dealias =
      (torch::fft::rfftfreq(n, 1.0 / static_cast<double>(n), opts).abs() < n / 3.0).to(opts.dtype());
  torch::Tensor ik_half = torch::complex(torch::zeros_like(k), -0.5 * k) * dealias;  // -(i k / 2) with the 2/3 rule

  const double umax = std::max(u0.abs().max().item<double>(), 1e-12);
  const double dx = 1.0 / static_cast<double>(n);
  int64_t steps = static_cast<int64_t>(std::ceil(t_final / (cfl * dx / umax)));
  steps = std::max<int64_t>(steps, 1);
  const double dt = t_final / static_cast<double>(steps);
  torch::Tensor e_half = torch::exp(-viscosity * k * k * (dt / 2.0));
  torch::Tensor e_full = e_half * e_half;

  auto nonlinear = [&](const torch::Tensor& u_hat) {
    torch::Tensor u = torch::fft::irfft(u_hat, n, -1);
    return ik_half * torch::fft::rfft(u * u, c10::nullopt, -1);
  };
  torch::NoGradGuard no_grad;
  torch::Tensor u_hat = torch::fft::rfft(u0, c10::nullopt, -1);
  for (int64_t s = 0; s < steps; ++s) {
    torch::Tensor a = nonlinear(u_hat);
    torch::Tensor b = nonlinear(e_half * (u_hat + (dt / 2.0) * a));
    torch::Tensor c = nonlinear(e_half * u_hat + (dt / 2.0) * b);
    torch::Tensor d = nonlinear(e_full * u_hat + dt * e_half * c);
    u_hat = e_full * u_hat + (dt / 6.0) * (e_full * a + 2.0 * e_half * (b + c) + d);
  }
  if (stats) *stats = {steps, dt};
  return torch::fft::irfft(u_hat, n, -1);
}

}  // namespace fourmi::data
