// trainer.h — the training loop over a model, its loader, the gradient synchronisation
// (gradsync/grad_sync.h: the optimizer step across ranks), checkpoints and the step profiler.
// It never calls MPI or NCCL; collectives go through `data_comm` and the GradSync.
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
#include "fourmi/distributed/communicator.h"
#include "fourmi/distributed/grad_reducer.h"
#include "fourmi/gradsync/grad_sync.h"
#include "fourmi/models/fno.h"
#include "fourmi/profile/op_recorder.h"
#include "fourmi/profile/profiler.h"
#include "fourmi/train/fused_adam.h"
#include "fourmi/train/graphed_step.h"
#include "fourmi/train/metrics.h"

namespace fourmi::train {

struct EvalResult {
  double rel_l2 = 0;  // mean relative L2 over the test samples
  int64_t samples = 0;
};

struct FitOptions {
  bool resume = false;  // continue from the newest checkpoint of the run directory
  // Polled at step boundaries (every step on one rank, every kStopPollSteps steps and at each
  // epoch's end on several, where the ranks agree on it in one small all-reduce); non-zero (a
  // signal number) stops the run at that boundary after writing a checkpoint there.
  std::function<int()> stop_requested;
};

// Steps between two polls of FitOptions::stop_requested when several ranks must agree on it.
inline constexpr int kStopPollSteps = 8;

struct FitResult {
  int stopped_by = 0;  // the signal that stopped the run early (its checkpoint is last_checkpoint), else 0
  int epochs_run = 0;
  double final_train_loss = 0;
  EvalResult final_eval;
  double seconds = 0;
  double samples_per_second = 0;
  std::string last_checkpoint;
};

class Trainer {
 public:
  // `sync`: how gradients are synchronised over `data_comm` (runtime::reducer_options of the
  // run's ParallelPlan); ignored on one rank.
  Trainer(config::Config config, models::FNO model, torch::Device device, distributed::Communicator& data_comm,
          std::string run_dir, const distributed::ReducerOptions& sync);
  // Leaves the model usable without the trainer: parameters gathered, no stage hook into it.
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;
  // Trains train.epochs epochs (from the newest checkpoint when options.resume), evaluating on
  // `test`. A non-finite training loss ends it with an error naming the epoch and step, before any
  // checkpoint of that epoch is written; a checkpoint is never written from non-finite parameters.
  FitResult fit(data::Dataset& train, data::Dataset& test, const FitOptions& options);
  // Mean relative L2 on `test`, each data-parallel rank taking its share, decoded to physical units.
  EvalResult evaluate(data::Dataset& test);
  // The model's output for `x` in physical units (x normalised in, the output decoded), without
  // gradients; `x` on device(). Collective over the mode group, like the model's forward.
  torch::Tensor predict(const torch::Tensor& x);
  // `host` (a CPU tensor) summed over the data-parallel group, back on the host; collective.
  torch::Tensor reduce_sum(const torch::Tensor& host);
  distributed::Communicator& data_comm() { return comm_; }
  const data::Normalizer& x_normalizer() const { return x_norm_; }
  const data::Normalizer& y_normalizer() const { return y_norm_; }
  torch::Device device() const { return device_; }
  // Installs the unit-Gaussian normalisers of the training split when data.normalize is gaussian.
  void use_normalization(const data::Manifest& train_manifest);
  // One optimizer step on one batch (micro-steps, gradient sync, Adam); returns this rank's
  // share of the global mean loss as a device scalar (no host synchronisation). Replayed from a
  // CUDA graph when train.cuda_graph allows it and no profiler is recording. Public for
  // benchmarks that feed synthetic batches.
  torch::Tensor train_step(const data::Batch& batch);
  // Whether train_step() replays a captured graph (once warmed up).
  bool graphed() const { return graphed_ != nullptr; }
  torch::optim::Optimizer& optimizer() { return sync_->checkpoint_optimizer(); }
  models::FNO& model() { return model_; }
  // The step profiler when profile.enabled (finished once fit() has run its profiled steps).
  profile::Profiler* profiler() { return profiler_.get(); }
  // Records train_step()'s ops with `profiler` (a benchmark's own) instead; null: the trainer's again.
  void record_with(profile::Profiler* profiler) { recorder_.set_profiler(profiler ? profiler : profiler_.get()); }

 private:
  torch::Tensor eager_step(const data::Batch& batch);
  // The training loss of a batch's prediction: relative_l2_loss, or with model.rollout_steps its
  // average over the rollout's steps.
  torch::Tensor step_loss(const torch::Tensor& pred, const torch::Tensor& y, const torch::Tensor& weight,
                          double global_count) const;
  // Runs one step; inside the profile windows it is timed (synchronised) and, in the
  // profiled window, recorded op by op.
  torch::Tensor timed_step(const data::Batch& batch, int64_t global_step,
                           int64_t total_steps);  // SUM over the data-parallel group, back on the host
  // Before a timed step: waits for the device, then for every rank of the grid (barriers kept out
  // of the communication profile), so that all ranks start the step together.
  void line_up_ranks();
  // Every parameter gathered on the current stream (before evaluation, checkpoints, the end of fit).
  void wait_parameters() { sync_->wait_parameters(); }
  // Whether this process is the whole grid (one data rank, one mode rank): no agreement needed.
  bool one_process() const { return comm_.size() == 1 && model_->mode_group().size() == 1; }
  std::string checkpoint_dir() const { return run_dir_ + "/checkpoints"; }
  // The largest of every rank's `local` (over the data and the mode group): what all ranks agree on.
  int agree_max(int local);
  // Writes the checkpoint at (epoch, step) collectively; throws, writing nothing, when a parameter
  // is not finite. Returns the main file's path on the writer, "" elsewhere.
  std::string write_checkpoint(int epoch, int step, double epoch_loss_sum);
  // Throws naming the first step of `epoch` (from `first_step`) whose loss in `losses` is not finite.
  [[noreturn]] void fail_nonfinite_loss(const torch::Tensor& losses, int epoch, int64_t first_step);
  config::Config config_;
  models::FNO model_;
  torch::Device device_;
  distributed::Communicator& comm_;
  std::string run_dir_;
  std::unique_ptr<profile::Profiler> profiler_;  // before recorder_ and sync_, which point at it
  profile::OpRecorder recorder_;
  std::unique_ptr<gradsync::GradSync> sync_;
  std::unique_ptr<GraphedStep> graphed_;  // train.cuda_graph: the step captured and replayed
  data::Normalizer x_norm_, y_norm_;
  MetricsWriter metrics_;
};

}  // namespace fourmi::train
