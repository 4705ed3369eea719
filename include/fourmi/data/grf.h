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

// Draws `count` periodic 2D fields on n x n points of the unit torus from
// N(0, sigma^2 (-Lap + tau^2 I)^-alpha) with zero mean mode (the Navier-Stokes initial
// vorticity of the FNO benchmark). Same reproducibility as the 1D draw. [count, n, n] float64.
torch::Tensor periodic_grf_2d(int64_t count, int64_t n, double alpha, double tau, double sigma,
                              std::uint64_t seed, int64_t first_index, torch::Device device);

// Draws `count` fields on the unit square from N(0, sigma^2 (-Lap + tau^2 I)^-gamma) with
// homogeneous Neumann conditions: a cosine series over modes 0..n_modes-1 in each direction
// (orthonormal eigenfunctions), evaluated at the `grid` x `grid` nodes x_i = i / (grid - 1).
// The series depends on n_modes only, so the same field can be evaluated on finer grids.
// [count, grid, grid] float64.
torch::Tensor neumann_grf_2d(int64_t count, int64_t n_modes, int64_t grid, double gamma, double tau, double sigma,
                             std::uint64_t seed, int64_t first_index, torch::Device device);

// A per-sample 64-bit seed derived from a dataset seed, a stream id and a sample index.
std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t index);

}  // namespace fourmi::data
