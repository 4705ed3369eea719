// grad_sync.h — how the ranks of a data-parallel group agree on each update: the one interface
// the trainer uses for gradients, the optimizer step, parameter availability and optimizer state.
//
// Implementations (make_grad_sync picks one):
//   one rank      — the optimizer step on local gradients;
//   all-reduce    — bucketed all-reduces overlapped with backward (GradReducer), then the full
//                   optimizer step on every rank;
//   ZeRO stage 1  — reduce-scatters, Adam on this rank's block of each bucket only (ShardedAdam),
//                   then all-gathers of the parameters that the next forward waits for stage by
//                   stage (zero1_sync.cpp owns the buffers, the shards, the stage waits and the
//                   checkpoint export).
//
// Contract: built on every rank of `comm` with the same model and options; every call below is
// made in the same order on every rank (prepare/step once per micro-step/step, the checkpoint
// calls together), so the collectives inside line up. Work runs on the caller's current stream;
// collectives run where the communicator puts them and are ordered with it.
#pragma once

#include <torch/optim/optimizer.h>

#include <memory>

#include "fourmi/config/config.h"
#include "fourmi/distributed/communicator.h"
#include "fourmi/distributed/grad_reducer.h"
#include "fourmi/models/fno.h"
#include "fourmi/profile/op_recorder.h"
#include "fourmi/profile/profiler.h"

namespace fourmi::gradsync {

class GradSync {
 public:
  virtual ~GradSync() = default;
  // Before each micro-step's backward; `sync`: the last micro-step of the optimizer step.
  virtual void prepare(bool sync) = 0;
  // After the last micro-step's backward: gradients reduced and parameters updated. With `prof`,
  // the update is timed as op "optimizer" and the waits for collectives are marked.
  virtual void step(profile::Profiler* prof) = 0;
  virtual void set_lr(double lr) = 0;
  // Every parameter up to date on the current stream (before evaluation, checkpoints, the end).
  virtual void wait_parameters() {}
  // The optimizer whose per-parameter state checkpoints hold (as on one rank, unsharded).
  virtual torch::optim::Optimizer& checkpoint_optimizer() = 0;
  // Collective: the full optimizer state assembled into checkpoint_optimizer() on the `writer`.
  virtual void export_state(bool writer) {}
  // Drops what export_state() assembled, once the checkpoint is written.
  virtual void drop_exported_state() {}
  // After a checkpoint was loaded into checkpoint_optimizer(): take this rank's part of it.
  virtual void import_state() {}
  // Whether prepare() and step() may be captured in a CUDA graph and replayed (train/graphed_step.h):
  // no collectives and no host-side state that changes from step to step.
  virtual bool capturable() const { return false; }
  // After a replayed step: the host-side bookkeeping of the optimizer step the replay ran.
  virtual void count_replayed_step() {}
};

// One rank: no reducer. Several: `options.shard` picks ZeRO-1, else the all-reduce. Broadcasts
// rank 0's parameters to every rank first (collective). `recorder` (may be null): the forward's
// waits for gathered parameters are marked in the step it is recording.
std::unique_ptr<GradSync> make_grad_sync(models::FNO model, distributed::Communicator& comm,
                                         const config::TrainConfig& train, const distributed::ReducerOptions& options,
                                         const profile::OpRecorder* recorder = nullptr);

// Runs `step` (an optimizer update), timed as op "optimizer" over elements() values with `prof`.
void run_optimizer(profile::Profiler* prof, const std::function<int64_t()>& elements,
                   const std::function<void()>& step);

}  // namespace fourmi::gradsync
