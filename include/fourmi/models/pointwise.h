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
  // addend + W x + b in one GEMM with accumulation (the Fourier layer's skip + spectral sum).
  torch::Tensor forward_add(const torch::Tensor& x, const torch::Tensor& addend);
  torch::Tensor weight;  // [Cout, Cin]
  torch::Tensor bias;    // [Cout]
};
TORCH_MODULE(PointwiseLinear);

}  // namespace fourmi::models
