// truncated_dft.h — the spectral layers' transforms as GEMMs against DFT matrices of the retained
// modes only: no full spectrum is formed, in the forward or the backward pass.
//
// The forward transform of x [B, C, n_1, ..., n_d] (real) is computed one axis at a time, last
// axis first: a real GEMM against [cos; -sin] of the lowest m_d frequencies, then along every other
// axis a complex GEMM (two real GEMMs on the real and imaginary planes) against the 2·m_k retained
// rows of the DFT matrix. Each GEMM contracts the tensor's last axis and writes the new axis first,
// so the axes rotate into mode-major order and no transpose is ever copied; the result is the
// [T, B, C] complex tensor of SpectralConv's flat mode order (spectral_conv.h), exactly
// gather_modes(rfftn(x)). The inverse is irfftn of the spectrum holding given modes (zeros
// elsewhere), computed the same way in reverse.
//
// Both are autograd functions with hand-written backwards: each is linear, so its gradient is its
// adjoint, which is the other direction's GEMM sequence on transposed matrices. Nothing is saved
// for backward but the matrices.
//
// The matrices are built once per (grid, modes, dtype, device) in float64 and rounded to the
// tensors' dtype. Work per axis is 2·(2 m_k)·n_k flops per transformed row: less than an FFT's
// memory traffic when few modes are kept, more arithmetic when many are (choose_transform in
// spectral_conv.h states where the crossover lies).
#pragma once

#include <torch/types.h>

#include <memory>
#include <vector>

namespace fourmi::models {

class TruncatedDft {
 public:
  // `grid`: n_1..n_d; `modes`: m_1..m_d retained per axis (2·m_k <= n_k; m_d <= n_d / 2).
  TruncatedDft(std::vector<int64_t> grid, std::vector<int> modes, const torch::TensorOptions& options);

  bool serves(c10::IntArrayRef grid, const torch::TensorOptions& options) const;
  const std::vector<int64_t>& grid() const { return grid_; }
  const std::vector<int>& modes() const { return modes_; }
  int64_t total_modes() const;

  // The linear maps on planar tensors ([2, ...]: real plane, imaginary plane), without autograd.
  // adjoint_forward is forward's adjoint, adjoint_inverse inverse's.
  torch::Tensor forward(const torch::Tensor& x) const;          // [B, C, n..] → [2, T, B, C]
  torch::Tensor adjoint_forward(const torch::Tensor& g) const;  // [2, T, B, C] → [B, C, n..]
  torch::Tensor inverse(const torch::Tensor& z) const;          // [2, T, B, C] → [B, C, n..]
  torch::Tensor adjoint_inverse(const torch::Tensor& g) const;  // [B, C, n..] → [2, T, B, C]

 private:
  // A complex axis's pair of matrices [2p, n] (p = 2m retained rows) for y = first·T_re^T +
  // second·T_im^T, whose rows are y's real plane then its imaginary plane.
  struct Pair {
    torch::Tensor first, second;
  };
  // The last axis's real GEMM and the other axes' complex ones, the new axis written first.
  torch::Tensor rotate_in(const torch::Tensor& x, const torch::Tensor& last, const std::vector<Pair>& pairs) const;
  // The reverse sequence: complex GEMMs over the first axis, then a real GEMM, new axes written last.
  torch::Tensor rotate_out(const torch::Tensor& z, const std::vector<Pair>& pairs, const torch::Tensor& last) const;
  // Orders [2, (h_1, i_1), ..., (h_{d-1}, i_{d-1}), i_d, BC] as [2, T, BC] (corner-major) and back.
  torch::Tensor to_flat_order(const torch::Tensor& rotated) const;
  torch::Tensor from_flat_order(const torch::Tensor& flat) const;

  std::vector<int64_t> grid_;
  std::vector<int> modes_;
  torch::TensorOptions options_;
  torch::Tensor real_to_complex_;        // [2 m_d, n_d]: [cos; -sin] of frequencies 0..m_d-1
  torch::Tensor complex_to_real_;        // [2 m_d, n_d]: [a cos; -a sin] / n_d, a = 1 at frequency 0, else 2
  std::vector<Pair> forward_, inverse_;  // axes 1..d-1: e^{-2 pi i f h / n}, and e^{+2 pi i f h / n} / n
};

using TruncatedDftPtr = std::shared_ptr<const TruncatedDft>;

// gather_modes(rfftn(x)) of SpectralConv (spectral_conv.h): x [B, C, n..] real → [T, B, C] complex,
// with `dft`'s GEMMs; differentiable, its backward the adjoint GEMMs.
torch::Tensor truncated_dft(const TruncatedDftPtr& dft, const torch::Tensor& x);
// The Fourier layer's pointwise skip, W x + b, summed into the inverse transform's result by the
// same pass: W [Cout, Cin], b [Cout], x [B, Cin, n..]. Empty tensors: no skip.
struct SkipTerm {
  torch::Tensor weight, bias, input;
};

// irfftn(scatter_modes(z)) [+ W x + b]: [T, B, C] complex → [B, C, n..] real; differentiable likewise.
// With a skip, its GEMM accumulates into the inverse's output and b enters as n_1···n_d · b added
// to the real part of the zero-frequency mode (the constant basis function), so neither costs a
// pass over the output; backward returns all five gradients without autograd between them.
torch::Tensor truncated_idft(const TruncatedDftPtr& dft, const torch::Tensor& z, const SkipTerm& skip = {});

}  // namespace fourmi::models
