#include "fourmi/train/loss.h"

#include <torch/torch.h>

namespace fourmi::train {

torch::Tensor relative_l2_per_sample(const torch::Tensor& pred, const torch::Tensor& target) {
  auto p = pred.reshape({pred.size(0), -1});
  auto t = target.reshape({target.size(0), -1});
  return torch::linalg_vector_norm(p - t, 2, {1}) / torch::linalg_vector_norm(t, 2, {1}).clamp_min(1e-12);
}

torch::Tensor relative_l2_loss(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& weight,
                               double divisor) {
  return (relative_l2_per_sample(pred, target) * weight).sum() / divisor;
}

}  // namespace fourmi::train
