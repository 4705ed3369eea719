// op_cost.h — analytic FLOP and byte counts of the operations in an FNO step (docs/profiles.md).
//
// Conventions: a real FFT of N points costs 2.5 N log2 N flops (a complex one 5 N log2 N); a
// GEMM of [M x K] by [K x N] costs 2 M N K real flops (a complex one 8 M N K); bytes are the
// compulsory traffic (every operand read once, every result written once) in the stored dtype.
#pragma once

#include <cstdint>
#include <vector>

namespace fourmi::profile {

struct OpCost {
  double flops = 0;
  double bytes = 0;
};

// Forward rfftn (or irfftn) over `spatial` of `batch_channels` real fields of float32.
OpCost real_fft_cost(int64_t batch_channels, const std::vector<int64_t>& spatial);
// Truncated forward DFT (or its inverse, the same GEMMs reversed) of `batch_channels` float32
// fields over `grid`, keeping `modes` (models/truncated_dft.h).
OpCost truncated_dft_cost(int64_t batch_channels, const std::vector<int64_t>& grid, const std::vector<int>& modes);
// The inverse truncated DFT of [B, Cout] fields with the Fourier layer's skip W x + b of x [B, Cin]
// fused into it (truncated_dft.h's SkipTerm): the inverse's work plus the skip GEMM's, whose
// output is the inverse's own.
OpCost inverse_dft_with_skip_cost(int64_t batch, int64_t in_channels, int64_t out_channels,
                                  const std::vector<int64_t>& grid, const std::vector<int>& modes);
// Per-mode complex channel mixing [M, B, Cin] x [M, Cin, Cout] with the gather and scatter of modes.
OpCost spectral_mix_cost(int64_t modes, int64_t batch, int64_t in_channels, int64_t out_channels,
                         int64_t spectrum_points);
// Pointwise linear: [points, Cin] x [Cin, Cout] + bias (+ an added input when `fused_add`).
OpCost pointwise_linear_cost(int64_t points, int64_t in_channels, int64_t out_channels, bool fused_add);
// Elementwise op over `elements` float32 values reading `inputs` operands, `flops_per_element` each.
OpCost elementwise_cost(int64_t elements, int inputs, double flops_per_element);
// Adam/AdamW update of `params` float32 parameters (p, g, m, v read; p, m, v written).
OpCost adam_cost(int64_t params);

// The backward of an op relative to its forward: GEMMs need two GEMMs (input and weight
// gradients), FFTs one inverse transform, elementwise ops about twice the traffic.
OpCost backward_of(const OpCost& forward, const char* kind);

}  // namespace fourmi::profile
