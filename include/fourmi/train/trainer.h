// trainer.h — the training loop: model, loader, optimizer, gradient reducer and checkpoints,
// all passed in. It never calls MPI or NCCL; collectives go through `data_comm`.
//
// Contract: every rank of the data-parallel group runs fit()/evaluate() with the same config
// and the same number of steps (the Sampler guarantees it), so collectives line up. Rank 0 of
// the group writes metrics and checkpoints; all ranks hold identical parameters.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <memory>
#include <string>

#include "fourmi/config/config.h"
#include "fourmi/data/dataset.h"
#include "fourmi/data/loader.h"
#include "fourmi/data/normalizer.h"
#include "fourmi/dist/communicator.h"
#include "fourmi/dist/grad_reducer.h"
#include "fourmi/models/fno.h"
#include "fourmi/profile/profiler.h"
#include "fourmi/train/fused_adam.h"
#include "fourmi/train/metrics.h"
#include "fourmi/train/sharded_adam.h"

namespace fourmi::train {

struct EvalResult {
  double rel_l2 = 0;   // mean relative L2 over the test samples
  int64_t samples = 0;
};

struct FitResult {
  int epochs_run = 0;
  double final_train_loss = 0;
  EvalResult final_eval;
  double seconds = 0;
  double samples_per_second = 0;
  std::string last_checkpoint;
};

std::unique_ptr<FusedAdam> make_optimizer(const config::TrainConfig& c, std::vector<torch::Tensor> params);
// parallel.shard_min_mb in MB: a number as given; auto: 1 when the data-parallel collectives run on
// the copy engines (Communicator::gathers_on_copy_engines), else 0.
double shard_min_mb(const config::ParallelConfig& p, bool collectives_on_copy_engines);

class Trainer {
 public:
  Trainer(config::Config config, models::FNO model, torch::Device device, dist::Communicator& data_comm,
          std::string run_dir);
  // Leaves the model usable without the trainer: parameters gathered, no stage hook into it.
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;
  // Trains train.epochs epochs (from the latest checkpoint when `resume`), evaluating on `test`.
  FitResult fit(data::Dataset& train, data::Dataset& test, bool resume);
  // Mean relative L2 on `test`, each data-parallel rank taking its share, decoded to physical units.
  EvalResult evaluate(data::Dataset& test);
  // Installs the unit-Gaussian normalisers of the training split when data.normalize is gaussian.
  void use_normalization(const data::Manifest& train_manifest);
  // One optimizer step on one batch (micro-steps, gradient sync, Adam); returns this rank's
  // share of the global mean loss as a device scalar (no host synchronisation). Public for
  // benchmarks that feed synthetic batches.
  torch::Tensor train_step(const data::Batch& batch);
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  models::FNO& model() { return model_; }
  // The step profiler when profile.enabled (finished once fit() has run its profiled steps).
  profile::Profiler* profiler() { return profiler_.get(); }

 private:
  torch::Tensor reduce_sum(const torch::Tensor& host);
  // Runs one step; inside the profile windows it is timed (synchronised) and, in the
  // profiled window, recorded op by op.
  torch::Tensor timed_step(const data::Batch& batch, int64_t global_step, int64_t total_steps);  // SUM over the data-parallel group, back on the host
  // Before a timed step: waits for the device, then for every rank of the grid (barriers kept out
  // of the communication profile), so that all ranks start the step together.
  void line_up_ranks();
  // Adam on `params` (all of them, or one bucket's), timed as op "optimizer" when profiling.
  void update(profile::Profiler* prof, const std::vector<torch::Tensor>& params);
  // Runs an optimizer `step`, timed as op "optimizer" over elements() values when profiling (only
  // then counted: the count walks the update's tensors).
  void run_optimizer(profile::Profiler* prof, const std::function<int64_t()>& elements, const std::function<void()>& step);
  // After backward with parallel.shard_optimizer: Adam on this rank's block of each bucket as its
  // reduce-scatter completes, then the all-gathers of parameters, which the next forward waits for
  // stage by stage (wait_stage).
  void sharded_update(profile::Profiler* prof);
  void wait_stage(int stage);
  // Every parameter gathered on the current stream (before evaluation, checkpoints, the end of fit).
  void wait_parameters();
  config::Config config_;
  models::FNO model_;
  torch::Device device_;
  dist::Communicator& comm_;
  std::string run_dir_;
  std::unique_ptr<FusedAdam> optimizer_;
  std::unique_ptr<dist::GradReducer> reducer_;
  std::unique_ptr<ShardedAdam> sharded_;          // parallel.shard_optimizer on more than one rank
  std::vector<std::vector<size_t>> stage_buckets_; // buckets whose parameters each forward stage reads
  data::Normalizer x_norm_, y_norm_;
  MetricsWriter metrics_;
  std::unique_ptr<profile::Profiler> profiler_;
};

}  // namespace fourmi::train
