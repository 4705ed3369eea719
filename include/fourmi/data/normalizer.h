// normalizer.h — unit-Gaussian normalisation with the training split's per-channel statistics.
#pragma once

#include <torch/types.h>

#include "fourmi/data/manifest.h"

namespace fourmi::data {

class Normalizer {
 public:
  Normalizer() = default;  // identity
  Normalizer(const FieldStats& stats, torch::Device device);
  torch::Tensor encode(const torch::Tensor& t) const;  // [B, C, *S]
  torch::Tensor decode(const torch::Tensor& t) const;
  bool identity() const { return !mean_.defined(); }
  // Per channel, as applied: encode(t) = (t - mean) / std, std including its 1e-5 (float32; undefined for identity).
  const torch::Tensor& mean() const { return mean_; }
  const torch::Tensor& std() const { return std_; }

 private:
  torch::Tensor view(const torch::Tensor& v, const torch::Tensor& like) const;
  torch::Tensor mean_, std_;
};

}  // namespace fourmi::data
