// pointwise.h — a 1x1 linear map over the channel dimension of [B, C, *spatial] tensors.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace fourmi::models {

class PointwiseLinearImpl : public torch::nn::Module {
 public:
  PointwiseLinearImpl(int in_channels, int out_channels);
  // [B, Cin, *S] → [B, Cout, *S]
  torch::Tensor forward(const torch::Tensor& x);
  // addend + W x + b in one GEMM with accumulation (the Fourier layer's skip + spectral sum on the
  // FFT path; the DFT path fuses it into the inverse transform, truncated_dft.h).
  torch::Tensor forward_add(const torch::Tensor& x, const torch::Tensor& addend) const;
  torch::Tensor weight;  // [Cout, Cin]
  torch::Tensor bias;    // [Cout]

 private:
  torch::Tensor batched_weight(int64_t batch) const;  // [B, Cout, Cin], a broadcast view
};
TORCH_MODULE(PointwiseLinear);

}  // namespace fourmi::models
