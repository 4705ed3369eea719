// finite_checks.h — debug.check_finite: NaN/Inf checks around one named op, forward and backward.
#pragma once

#include <torch/types.h>

#include <functional>
#include <string>

namespace fourmi::debug {

// Runs fn(in) and throws naming `op` when its output is NaN or Inf (saying whether its input
// already was); in backward, throws naming `op` when the gradient it passes to `in` is. Costs a
// device synchronisation per op: for debugging only.
torch::Tensor with_finite_checks(const std::string& op, const torch::Tensor& in,
                                 const std::function<torch::Tensor(const torch::Tensor&)>& fn);

}  // namespace fourmi::debug
