#include "fourmi/models/pointwise.h"

#include <torch/torch.h>

#include <cmath>

namespace fourmi::models {

PointwiseLinearImpl::PointwiseLinearImpl(int in_channels, int out_channels) {
  // nn.Linear's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_channels));
  weight = register_parameter("weight", torch::empty({out_channels, in_channels}).uniform_(-bound, bound));
  bias = register_parameter("bias", torch::empty({out_channels}).uniform_(-bound, bound));
}

torch::Tensor PointwiseLinearImpl::batched_weight(int64_t batch) const {
  return weight.unsqueeze(0).expand({batch, weight.size(0), weight.size(1)});
}

torch::Tensor PointwiseLinearImpl::forward(const torch::Tensor& x) {
  // One batched GEMM per sample, [Cout, Cin] · [Cin, N], into a contiguous [B, Cout, N] that starts
  // as the bias (torch::matmul would fold the batch into the rows of x^T and leave a transposed result).
  auto sizes = x.sizes().vec();
  const int64_t b = sizes[0], cout = weight.size(0);
  torch::Tensor flat = x.reshape({b, sizes[1], -1});  // [B, Cin, N]
  torch::Tensor start = bias.view({1, cout, 1}).expand({b, cout, flat.size(2)});
  sizes[1] = cout;
  return torch::baddbmm(start, batched_weight(b), flat).view(sizes);
}

torch::Tensor PointwiseLinearImpl::forward_add(const torch::Tensor& x, const torch::Tensor& addend) const {
  const int64_t b = x.size(0), cout = weight.size(0);
  std::vector<int64_t> bias_shape(addend.dim(), 1);
  bias_shape[1] = cout;
  torch::Tensor acc = (addend + bias.view(bias_shape)).reshape({b, cout, -1});
  return torch::baddbmm(acc, batched_weight(b), x.reshape({b, x.size(1), -1})).view(addend.sizes());
}

}  // namespace fourmi::models
