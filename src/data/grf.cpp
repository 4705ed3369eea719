#include "fourmi/data/grf.h"

#include <torch/torch.h>

#include <cmath>

namespace fourmi::data {

std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  // splitmix64 over the three words: well mixed, cheap, reproducible everywhere.
  auto mix = [](std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(seed) ^ stream) ^ index);
}

torch::Tensor grf_noise(int64_t count, at::IntArrayRef shape, std::uint64_t seed, int64_t first_index,
                        torch::Device device) {
  std::vector<torch::Tensor> noise;
  noise.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    auto gen = at::detail::createCPUGenerator(sample_seed(seed, /*stream=*/1, first_index + i));
    noise.push_back(torch::randn(shape, gen, torch::TensorOptions().dtype(torch::kFloat64)));
  }
  return torch::stack(noise).to(device);
}

torch::Tensor periodic_grf_1d(int64_t count, int64_t n, double gamma, double tau, double sigma, std::uint64_t seed,
                              int64_t first_index, torch::Device device) {
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  // Noise is drawn on the CPU, one generator per sample, so GPU and CPU give the same fields.
  torch::Tensor xi = grf_noise(count, {2, n}, seed, first_index, device);  // [count, 2, n]
  torch::Tensor xi_c = torch::complex(xi.select(1, 0), xi.select(1, 1)) / std::sqrt(2.0);
  torch::Tensor k = torch::fft::fftfreq(n, 1.0 / static_cast<double>(n), f64.device(device));
  const double four_pi2 = 4.0 * M_PI * M_PI;
  torch::Tensor amp = std::sqrt(2.0) * sigma * torch::pow(four_pi2 * k * k + tau * tau, -gamma / 2.0);
  amp.index_put_({0}, 0.0);  // zero mean mode
  // u(x_j) = Re sum_k amp_k xi_k exp(2 pi i k x_j); ifft carries a 1/n, hence the factor n.
  return torch::real(torch::fft::ifft(xi_c * amp * static_cast<double>(n), c10::nullopt, -1));
}

torch::Tensor periodic_grf_2d(int64_t count, int64_t n, double alpha, double tau, double sigma, std::uint64_t seed,
                              int64_t first_index, torch::Device device) {
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  torch::Tensor xi = grf_noise(count, {2, n, n}, seed, first_index, device);  // [count, 2, n, n]
  // Real and imaginary parts are each standard normal, as in random_fields.py: E|z|^2 = 2.
  torch::Tensor z = torch::complex(xi.select(1, 0), xi.select(1, 1));
  torch::Tensor k = torch::fft::fftfreq(n, 1.0 / static_cast<double>(n), f64);  // 0..n/2-1, -n/2..-1
  torch::Tensor k2 = k.unsqueeze(1).pow(2) + k.unsqueeze(0).pow(2);
  const double four_pi2 = 4.0 * M_PI * M_PI;
  torch::Tensor amp = std::sqrt(2.0) * sigma * torch::pow(four_pi2 * k2 + tau * tau, -alpha / 2.0);
  amp.index_put_({0, 0}, 0.0);  // zero mean mode
  // w(x) = Re sum_k amp_k z_k exp(2 pi i k . x); ifft2 carries a 1/n^2, hence the factor n^2.
  const double n2 = static_cast<double>(n * n);
  return torch::real(torch::fft::ifft2(z * amp * n2));
}

torch::Tensor neumann_grf_2d(int64_t count, int64_t n_modes, int64_t grid, double gamma, double tau, double sigma,
                             std::uint64_t seed, int64_t first_index, torch::Device device) {
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  torch::Tensor xi = grf_noise(count, {n_modes, n_modes}, seed, first_index, device);
  torch::Tensor k = torch::arange(n_modes, f64);
  torch::Tensor k2 = k.unsqueeze(1).pow(2) + k.unsqueeze(0).pow(2);
  torch::Tensor amp = sigma * torch::pow(M_PI * M_PI * k2 + tau * tau, -gamma / 2.0);
  amp.index_put_({0, 0}, 0.0);  // zero mean mode, as GRF.m's L(1,1) = 0
  // Orthonormal Neumann eigenfunctions c_k cos(pi k x) (c_0 = 1, c_k = sqrt(2)) at the cell centres
  // (2i + 1) / (2 grid), the points where Matlab's idct2 evaluates the cosine series.
  torch::Tensor x = (2.0 * torch::arange(grid, f64) + 1.0) / (2.0 * static_cast<double>(grid));
  torch::Tensor basis = torch::cos(M_PI * x.unsqueeze(1) * k.unsqueeze(0)) * std::sqrt(2.0);  // [grid, n_modes]
  basis.select(1, 0).fill_(1.0);
  return torch::matmul(torch::matmul(basis, xi * amp), basis.t());
}

}  // namespace fourmi::data
