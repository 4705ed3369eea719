#include "fourmi/profile/op_cost.h"

#include <cmath>
#include <cstring>

namespace fourmi::profile {

OpCost real_fft_cost(int64_t batch_channels, const std::vector<int64_t>& spatial) {
  double n = 1;
  for (auto s : spatial) n *= static_cast<double>(s);
  // NOLINTNEXTLINE(bugprone-integer-division): the real FFT keeps n / 2 + 1 bins of the last axis
  double half = n / static_cast<double>(spatial.back()) * static_cast<double>(spatial.back() / 2 + 1);
  OpCost c;
  c.flops = static_cast<double>(batch_channels) * 2.5 * n * std::log2(n);
  c.bytes = static_cast<double>(batch_channels) * (4.0 * n + 8.0 * half);  // real in, complex half-spectrum out
  return c;
}

OpCost truncated_dft_cost(int64_t batch_channels, const std::vector<int64_t>& grid, const std::vector<int>& modes) {
  const size_t d = grid.size();
  double rows = static_cast<double>(batch_channels);
  for (size_t k = 0; k + 1 < d; ++k) rows *= static_cast<double>(grid[k]);
  const double n_last = static_cast<double>(grid[d - 1]), kept = 2.0 * modes[d - 1];
  OpCost c;
  // last axis: [2 m_d, n_d] x [n_d, rows], real
  c.flops = 2.0 * kept * n_last * rows;
  c.bytes = 4.0 * (rows * n_last + kept * rows + kept * n_last);
  // other axes, last first: two GEMMs [2p, n] x [n, R] per axis on planes of `plane` values
  double plane = kept / 2.0 * rows;
  for (size_t k = d - 1; k-- > 0;) {
    const double n = static_cast<double>(grid[k]), p = 2.0 * modes[k], r = plane / n;
    c.flops += 2.0 * 2.0 * (2.0 * p) * n * r;
    c.bytes += 4.0 * (2.0 * plane + 2.0 * p * r + 2.0 * 2.0 * p * n);
    plane = p * r;
  }
  return c;
}

OpCost inverse_dft_with_skip_cost(int64_t batch, int64_t in_channels, int64_t out_channels,
                                  const std::vector<int64_t>& grid, const std::vector<int>& modes) {
  OpCost c = truncated_dft_cost(batch * out_channels, grid, modes);
  double p = static_cast<double>(batch);
  for (int64_t n : grid) p *= static_cast<double>(n);
  const double ci = static_cast<double>(in_channels), co = static_cast<double>(out_channels);
  c.flops += 2.0 * p * ci * co + p * co;
  c.bytes += 4.0 * (p * ci + ci * co + co);
  return c;
}

OpCost spectral_mix_cost(int64_t modes, int64_t batch, int64_t in_channels, int64_t out_channels,
                         int64_t spectrum_points) {
  const double m = static_cast<double>(modes), b = static_cast<double>(batch);
  const double ci = static_cast<double>(in_channels), co = static_cast<double>(out_channels);
  OpCost c;
  c.flops = 8.0 * m * b * ci * co;
  // gather (read modes, write [M,B,Cin]), GEMM (read both, write [M,B,Cout]), scatter into a zeroed spectrum
  c.bytes = 8.0 * (2 * m * b * ci + m * ci * co + m * b * ci + m * b * co + 2 * m * b * co) +
            8.0 * b * co * static_cast<double>(spectrum_points);
  return c;
}

OpCost pointwise_linear_cost(int64_t points, int64_t in_channels, int64_t out_channels, bool fused_add) {
  const double p = static_cast<double>(points), ci = static_cast<double>(in_channels),
               co = static_cast<double>(out_channels);
  OpCost c;
  c.flops = 2.0 * p * ci * co + p * co * (fused_add ? 2.0 : 1.0);
  c.bytes = 4.0 * (p * ci + ci * co + co + p * co * (fused_add ? 2.0 : 1.0));
  return c;
}

OpCost elementwise_cost(int64_t elements, int inputs, double flops_per_element) {
  const double e = static_cast<double>(elements);
  return {e * flops_per_element, 4.0 * e * (inputs + 1)};
}

OpCost adam_cost(int64_t params) {
  const double n = static_cast<double>(params);
  return {12.0 * n, 4.0 * n * 7.0};
}

OpCost backward_of(const OpCost& f, const char* kind) {
  if (std::strcmp(kind, "spectral_mix") == 0 || std::strcmp(kind, "linear") == 0) return {2.0 * f.flops, 2.0 * f.bytes};
  // a linear transform's gradient is its adjoint, the same amount of work
  if (std::strcmp(kind, "fft") == 0 || std::strcmp(kind, "ifft") == 0 || std::strcmp(kind, "dft") == 0) return f;
  // Elementwise ops and the loss: the gradient reads the output gradient and the saved input
  // and writes the input gradient (three arrays where the forward moved two).
  return {2.0 * f.flops, 1.5 * f.bytes};
}

}  // namespace fourmi::profile
