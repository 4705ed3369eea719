#include "fourmi/train/fused_adam.h"

#include <ATen/ops/_fused_adam.h>
#include <ATen/ops/_fused_adamw.h>
#include <fmt/format.h>
#include <torch/torch.h>

namespace fourmi::train {

FusedAdam::FusedAdam(std::vector<torch::Tensor> params, torch::optim::AdamOptions options, bool decoupled_weight_decay)
    : torch::optim::Adam(std::move(params), options), decoupled_(decoupled_weight_decay) {}

torch::Tensor FusedAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = {};
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) update(static_cast<torch::optim::AdamOptions&>(group.options()), group.params());
  return loss;
}

void FusedAdam::step_params(const std::vector<torch::Tensor>& params) {
  if (param_groups().size() != 1)
    throw std::logic_error(
        fmt::format("FusedAdam::step_params: {} parameter groups; accepted: one", param_groups().size()));
  torch::NoGradGuard no_grad;
  update(static_cast<torch::optim::AdamOptions&>(param_groups()[0].options()), params);
}

void FusedAdam::set_lr(double lr) {
  for (auto& group : param_groups()) group.options().set_lr(lr);
  if (device_lr_.defined()) {
    device_lr_.fill_(lr);
    device_lr_value_ = lr;
  }
}

void FusedAdam::count_replayed_step() {
  for (auto& [key, dev_step] : device_steps_) {
    auto it = state().find(const_cast<void*>(key));  // the state's keys are the parameters' impls
    if (it == state().end()) continue;
    auto& st = static_cast<torch::optim::AdamParamState&>(*it->second);
    st.step(st.step() + 1);
    dev_step.mirrors = st.step();
  }
}

void FusedAdam::update(torch::optim::AdamOptions& opt, const std::vector<torch::Tensor>& group_params) {
  if (opt.amsgrad()) throw std::invalid_argument("FusedAdam: amsgrad is not supported");
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
  for (const auto& p : group_params) {
    if (!p.grad().defined()) continue;
    void* key = p.unsafeGetTensorImpl();
    auto it = state().find(key);
    if (it == state().end()) {
      auto st = std::make_unique<torch::optim::AdamParamState>();
      st->step(0);
      st->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
      st->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
      it = state().emplace(key, std::move(st)).first;
    }
    auto& st = static_cast<torch::optim::AdamParamState&>(*it->second);
    auto& dev_step = device_steps_[key];
    if (!dev_step.count.defined() || dev_step.mirrors != st.step() || dev_step.count.device() != p.device())
      dev_step.count = torch::full({}, static_cast<double>(st.step()), p.options().dtype(torch::kFloat32));
    st.step(st.step() + 1);  // host copy, for serialisation
    dev_step.mirrors = st.step();
    params.push_back(p);
    grads.push_back(p.grad());
    exp_avgs.push_back(st.exp_avg());
    exp_avg_sqs.push_back(st.exp_avg_sq());
    steps.push_back(dev_step.count);
  }
  if (params.empty()) return;
  torch::_foreach_add_(steps, 1);
  const auto [beta1, beta2] = opt.betas();
  if (params[0].is_cuda() && param_groups().size() == 1) {
    // The rate as a device scalar: a captured step reads it, so set_lr() reaches replays. Written
    // only when it changed, so a capture records no write of it.
    if (!device_lr_.defined() || device_lr_.device() != params[0].device())
      device_lr_ = torch::full({}, opt.lr(), params[0].options().dtype(torch::kFloat32));
    else if (device_lr_value_ != opt.lr())
      device_lr_.fill_(opt.lr());
    device_lr_value_ = opt.lr();
    if (decoupled_)
      at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, device_lr_, beta1, beta2, opt.weight_decay(),
                        opt.eps(), /*amsgrad=*/false, /*maximize=*/false);
    else
      at::_fused_adam_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, device_lr_, beta1, beta2, opt.weight_decay(),
                       opt.eps(), /*amsgrad=*/false, /*maximize=*/false);
    return;
  }
  if (decoupled_)
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, opt.lr(), beta1, beta2, opt.weight_decay(),
                      opt.eps(),
                      /*amsgrad=*/false, /*maximize=*/false);
  else
    at::_fused_adam_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, opt.lr(), beta1, beta2, opt.weight_decay(),
                     opt.eps(),
                     /*amsgrad=*/false, /*maximize=*/false);
}

std::unique_ptr<FusedAdam> make_optimizer(const config::TrainConfig& c, std::vector<torch::Tensor> params) {
  return std::make_unique<FusedAdam>(params, torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay),
                                     /*decoupled_weight_decay=*/c.optimizer == config::OptimizerKind::kAdamW);
}

}  // namespace fourmi::train
