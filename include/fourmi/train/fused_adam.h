// fused_adam.h — Adam / AdamW whose update is one multi-tensor kernel (ATen's _fused_adam(w)_).
//
// LibTorch's torch::optim::Adam updates parameters one at a time with about ten kernels each;
// this keeps Adam's state layout (AdamParamState), so checkpoints and the serialisation are
// the same, and runs the update for all parameters of a device in one fused launch.
#pragma once

#include <torch/optim/adam.h>

#include <memory>
#include <unordered_map>

#include "fourmi/config/config.h"

namespace fourmi::train {

class FusedAdam : public torch::optim::Adam {
 public:
  FusedAdam(std::vector<torch::Tensor> params, torch::optim::AdamOptions options, bool decoupled_weight_decay);
  torch::Tensor step(LossClosure closure = nullptr) override;
  // The same update for some of the parameters only (a bucket whose gradients are reduced while
  // others are not yet); every parameter must be updated once per step. One parameter group only.
  void step_params(const std::vector<torch::Tensor>& params);
  // Sets every group's learning rate; on CUDA also the device copy the update reads, so that a step
  // replayed from a CUDA graph (graphed_step.h) uses the new rate.
  void set_lr(double lr);
  // Advances the host step counts after a replayed step, whose update ran only on the device.
  void count_replayed_step();

 private:
  void update(torch::optim::AdamOptions& options, const std::vector<torch::Tensor>& params);
  bool decoupled_;
  struct DeviceStep {
    torch::Tensor count;   // float32 step counter on the parameter's device, as the fused kernel wants
    int64_t mirrors = -1;  // the AdamParamState step it equals; a mismatch (a loaded checkpoint) rebuilds it
  };
  std::unordered_map<const void*, DeviceStep> device_steps_;
  torch::Tensor device_lr_;  // CUDA: the rate as a device scalar (one group), read by the fused kernel
  double device_lr_value_ = -1;
};

// train.optimizer (adam | adamw) with train.lr and train.weight_decay over `params`.
std::unique_ptr<FusedAdam> make_optimizer(const config::TrainConfig& c, std::vector<torch::Tensor> params);

}  // namespace fourmi::train
