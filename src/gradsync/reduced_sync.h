// reduced_sync.h — what the all-reduce and ZeRO-1 GradSyncs share (internal to gradsync/): the
// model's parameters, the per-parameter optimizer that checkpoints hold, and the GradReducer, with
// rank 0's parameters broadcast at construction and backward writing gradients into the buckets.
//
// Contract: as GradSync's; constructed collectively on every rank of `comm`.
#pragma once

#include <memory>
#include <vector>

#include "fourmi/gradsync/grad_sync.h"
#include "fourmi/train/fused_adam.h"

namespace fourmi::gradsync {

class ReducedSync : public GradSync {
 public:
  void prepare(bool sync) override { reducer_.prepare(sync); }
  torch::optim::Optimizer& checkpoint_optimizer() override { return *optimizer_; }

 protected:
  ReducedSync(models::FNO model, distributed::Communicator& comm, const config::TrainConfig& train,
              const distributed::ReducerOptions& options)
      : model_(model),
        params_(model->parameters()),
        optimizer_(train::make_optimizer(train, params_)),
        reducer_(params_, comm, options) {
    reducer_.broadcast_parameters(0);
    if (options.grad_into_bucket)
      model_->set_weight_grad_into([this](const torch::Tensor& w) { return reducer_.grad_destination(w); });
  }
  ~ReducedSync() override { model_->set_weight_grad_into({}); }  // the model may outlive the reducer

  models::FNO model_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<train::FusedAdam> optimizer_;  // per parameter (ZeRO-1: its state only around checkpoints)
  distributed::GradReducer reducer_;
};

}  // namespace fourmi::gradsync
