// loss.h — the relative L2 error of the FNO paper, per sample, weighted.
#pragma once

#include <torch/types.h>

namespace fourmi::train {

// Per-sample ||pred - target|| / ||target|| over channels and grid points: [B].
torch::Tensor relative_l2_per_sample(const torch::Tensor& pred, const torch::Tensor& target);
// sum_i weight_i * rel_l2_i / divisor. With divisor = the step's global sample count, the SUM of
// this over data-parallel ranks is the mean over the global batch.
torch::Tensor relative_l2_loss(const torch::Tensor& pred, const torch::Tensor& target, const torch::Tensor& weight,
                               double divisor);

}  // namespace fourmi::train
