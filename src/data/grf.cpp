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

torch::Tensor periodic_grf_1d(int64_t count, int64_t n, double gamma, double tau, double sigma,
                              std::uint64_t seed, int64_t first_index, torch::Device device) {
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  // Noise is drawn on the CPU, one generator per sample, so GPU and CPU give the same fields.
  std::vector<torch::Tensor> noise;
  noise.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    auto gen = at::detail::createCPUGenerator(sample_seed(seed, /*stream=*/1, first_index + i));
    noise.push_back(torch::randn({2, n}, gen, f64));
  }
  torch::Tensor xi = torch::stack(noise).to(device);                    // [count, 2, n]
  torch::Tensor xi_c = torch::complex(xi.select(1, 0), xi.select(1, 1)) / std::sqrt(2.0);
  torch::Tensor k = torch::fft::fftfreq(n, 1.0 / static_cast<double>(n), f64.device(device));
  const double four_pi2 = 4.0 * M_PI * M_PI;
  torch::Tensor amp = std::sqrt(2.0) * sigma * torch::pow(four_pi2 * k * k + tau * tau, -gamma / 2.0);
  amp.index_put_({0}, 0.0);  // zero mean mode
  // u(x_j) = Re sum_k amp_k xi_k exp(2 pi i k x_j); ifft carries a 1/n, hence the factor n.
  return torch::real(torch::fft::ifft(xi_c * amp * static_cast<double>(n), c10::nullopt, -1));
}

}  // namespace fourmi::data
