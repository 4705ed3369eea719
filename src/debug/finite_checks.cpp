#include "fourmi/debug/finite_checks.h"

#include <fmt/format.h>
#include <torch/torch.h>

namespace fourmi::debug {
namespace {

// Identity in forward; in backward it fails the step when the gradient leaving op `name` through
// its input is NaN or Inf (the first such check in backward order names the op that made it).
struct FiniteGradCheck : public torch::autograd::Function<FiniteGradCheck> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const std::string& name) {
    ctx->saved_data["name"] = name;
    return x.view_as(x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    if (grad[0].defined() && !torch::isfinite(grad[0]).all().item<bool>())
      throw std::runtime_error(
          fmt::format("debug.check_finite: the backward of {} produced NaN or Inf in its input gradient",
                      ctx->saved_data["name"].toStringRef()));
    return {grad[0], torch::Tensor()};
  }
};

}  // namespace

torch::Tensor with_finite_checks(const std::string& op, const torch::Tensor& in,
                                 const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
  torch::Tensor x = (torch::GradMode::is_enabled() && in.requires_grad()) ? FiniteGradCheck::apply(in, op) : in;
  torch::Tensor y = fn(x);
  if (!torch::isfinite(y).all().item<bool>()) {
    const bool input_ok = torch::isfinite(in).all().item<bool>();
    throw std::runtime_error(
        fmt::format("debug.check_finite: {} (forward) produced NaN or Inf{}", op,
                    input_ok ? " from a finite input" : "; its input was already non-finite (data?)"));
  }
  return y;
}

}  // namespace fourmi::debug
