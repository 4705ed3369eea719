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

torch::Tensor PointwiseLinearImpl::forward(const torch::Tensor& x) {
  auto sizes = x.sizes().vec();
  torch::Tensor flat = x.reshape({sizes[0], sizes[1], -1});              // [B, Cin, N]
  torch::Tensor out = torch::matmul(weight, flat) + bias.unsqueeze(-1);  // [B, Cout, N]
  sizes[1] = weight.size(0);
  return out.reshape(sizes);
}

torch::Tensor PointwiseLinearImpl::forward_add(const torch::Tensor& x, const torch::Tensor& addend) {
  const int64_t b = x.size(0), cout = weight.size(0);
  std::vector<int64_t> bias_shape(addend.dim(), 1);
  bias_shape[1] = cout;
  torch::Tensor acc = (addend + bias.view(bias_shape)).reshape({b, cout, -1});
  torch::Tensor out =
      torch::baddbmm(acc, weight.unsqueeze(0).expand({b, cout, weight.size(1)}), x.reshape({b, x.size(1), -1}));
  return out.view(addend.sizes());
}

}  // namespace fourmi::models
