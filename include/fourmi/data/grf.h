// grf.h — Gaussian random fields on periodic grids, as used by the FNO benchmark generators.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace fourmi::data {

// Draws `count` periodic 1D fields on `n` points from N(0, sigma^2 (-Lap + tau^2 I)^-gamma)
// with zero mean mode. Sample i depends only on (seed, first_index + i), so a dataset is the
// same whatever the batch size or shard count. Returns [count, n] float64 on `device`.
torch::Tensor periodic_grf_1d(int64_t count, int64_t n, double gamma, double tau, double sigma,
                              std::uint64_t seed, int64_t first_index, torch::Device device);

// A per-sample 64-bit seed derived from a dataset seed, a stream id and a sample index.
std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t index);

}  // namespace fourmi::data
