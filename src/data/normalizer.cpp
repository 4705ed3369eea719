#include "fourmi/data/normalizer.h"

#include <torch/torch.h>

namespace fourmi::data {

Normalizer::Normalizer(const FieldStats& stats, torch::Device device) {
  mean_ = torch::tensor(stats.mean, torch::kFloat64).to(device, torch::kFloat32);
  std_ = torch::tensor(stats.std, torch::kFloat64).to(device, torch::kFloat32) + 1e-5f;
}

torch::Tensor Normalizer::view(const torch::Tensor& v, const torch::Tensor& like) const {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[1] = v.size(0);
  return v.view(shape);
}

torch::Tensor Normalizer::encode(const torch::Tensor& t) const {
  if (identity()) return t;
  return (t - view(mean_, t)) / view(std_, t);
}

torch::Tensor Normalizer::decode(const torch::Tensor& t) const {
  if (identity()) return t;
  return t * view(std_, t) + view(mean_, t);
}

}  // namespace fourmi::data
