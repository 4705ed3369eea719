// sharded_adam.h — Adam for ZeRO stage 1: this rank updates, and keeps Adam's state for, only its
// block of each sharded gradient bucket of a GradReducer (1/N of the update's work and of the
// optimizer's memory on N ranks; buckets too small to shard are updated whole on every rank); the
// reducer's all-gather then gives every rank all parameters.
//
// Contract: built on every rank of the reducer's group, after the reducer. step_buckets(i, j)
// follows reducer.wait_bucket(i), ..., wait_bucket(j - 1). export_state() is collective over the
// reducer's group (every rank calls it, in the same order as the other collectives); import_state()
// is local. Both translate between this sharded state and the per-parameter state of an ordinary
// Adam (`full`, keyed by the reducer's parameters), which is what checkpoints hold, so a checkpoint
// does not depend on the number of ranks or on sharding.
#pragma once

#include <memory>
#include <vector>

#include "fourmi/distributed/communicator.h"
#include "fourmi/distributed/grad_reducer.h"
#include "fourmi/train/fused_adam.h"

namespace fourmi::gradsync {

class ShardedAdam {
 public:
  // `adam`: an optimizer over reducer.update_tensors() (one parameter group), with the training's options.
  ShardedAdam(distributed::GradReducer& reducer, distributed::Communicator& comm,
              std::unique_ptr<train::FusedAdam> adam);
  torch::optim::Optimizer& optimizer() { return *adam_; }
  // Adam, in one fused launch, on reducer.update_tensors(b) for b in [first, last), whose .grad
  // are the reduced gradients (blocks).
  void step_buckets(size_t first, size_t last);
  // Collective: assembles every parameter's Adam state from all ranks' blocks into `full` on the
  // ranks that `keep` it (the checkpoint writer); the others take part in the gathers only, one
  // bucket at a time, so no rank but the writer ever holds the full state.
  void export_state(const std::vector<torch::Tensor>& params, torch::optim::Optimizer& full, bool keep);
  // Takes this rank's blocks of the per-parameter state in `full` (a loaded checkpoint), then
  // drops that full-size state from `full`.
  void import_state(const std::vector<torch::Tensor>& params, torch::optim::Optimizer& full);
  // Drops the per-parameter state that export_state() wrote (it is only needed for a checkpoint).
  static void drop_state(const std::vector<torch::Tensor>& params, torch::optim::Optimizer& full);

 private:
  distributed::GradReducer& reducer_;
  distributed::Communicator& comm_;
  std::unique_ptr<train::FusedAdam> adam_;
};

}  // namespace fourmi::gradsync
