// grf.h — the Gaussian random fields of the FNO benchmark generators (periodic and Neumann).
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace fourmi::data {

// Draws `count` periodic 1D fields on `n` points from N(0, sigma^2 (-Lap + tau^2 I)^-gamma)
// with zero mean mode. Sample i depends only on (seed, first_index + i), so a dataset is the
// same whatever the batch size or shard count. Returns [count, n] float64 on `device`.
torch::Tensor periodic_grf_1d(int64_t count, int64_t n, double gamma, double tau, double sigma, std::uint64_t seed,
                              int64_t first_index, torch::Device device);

// Draws `count` periodic 2D fields on the n x n points (i/n, j/n) of the unit torus by the
// procedure of the FNO paper's Navier-Stokes generator (random_fields.py, GaussianRF(dim=2)):
// every wavenumber k of the n x n DFT grid except k = 0 gets the coefficient
// sqrt(2) sigma (4 pi^2 |k|^2 + tau^2)^(-alpha/2) (xi_k + i eta_k) with xi_k, eta_k independent
// standard normals, and the field is the real part of the inverse DFT. Its pointwise variance
// is sum_{k != 0} 2 sigma^2 (4 pi^2 |k|^2 + tau^2)^-alpha, twice that of
// N(0, sigma^2 (-Lap + tau^2 I)^-alpha), exactly as the original's. The mean is zero.
// Same reproducibility as the 1D draw; the normals are grf_noise(count, {2, n, n}, ...)
// (xi = [:, 0], eta = [:, 1], k_x along dim 1). [count, n, n] float64.
torch::Tensor periodic_grf_2d(int64_t count, int64_t n, double alpha, double tau, double sigma, std::uint64_t seed,
                              int64_t first_index, torch::Device device);

// Draws `count` fields on the unit square by the procedure of the FNO paper's Darcy generator
// (GRF.m): the cosine series
//   mu(x, y) = sum_{(k1, k2) != (0, 0)} sigma (pi^2 (k1^2 + k2^2) + tau^2)^(-gamma/2) xi_k c_k1 c_k2 cos(pi k1 x)
//   cos(pi k2 y)
// over modes 0..n_modes-1 per direction (c_0 = 1, c_k = sqrt(2): orthonormal Neumann
// eigenfunctions), xi_k standard normal, the mean mode zero, evaluated at the `grid` x `grid`
// cell centres x_i = (2i + 1) / (2 grid). With grid = n_modes and sigma = tau^(gamma - 1) this is
// Matlab's idct2 of GRF.m's L = s coef .* xi, L(1,1) = 0. The normals are
// grf_noise(count, {n_modes, n_modes}, ...), xi[k1][k2]. The series depends on n_modes only, so
// the same field can be evaluated on a finer grid; the centres of a grid 3 times finer include
// the coarse ones (fine index 3i + 1). [count, grid, grid] float64.
torch::Tensor neumann_grf_2d(int64_t count, int64_t n_modes, int64_t grid, double gamma, double tau, double sigma,
                             std::uint64_t seed, int64_t first_index, torch::Device device);

// The standard normals behind the fields above: [count, shape...] float64 on `device`, sample i
// drawn on the CPU from its own generator seeded by sample_seed(seed, 1, first_index + i), so GPU
// and CPU give the same fields.
torch::Tensor grf_noise(int64_t count, at::IntArrayRef shape, std::uint64_t seed, int64_t first_index,
                        torch::Device device);

// A per-sample 64-bit seed derived from a dataset seed, a stream id and a sample index.
std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t index);

}  // namespace fourmi::data
