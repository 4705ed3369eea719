// grad_sync.cpp — the one-rank and all-reduce GradSyncs, the factory, the timed optimizer step.
#include "fourmi/gradsync/grad_sync.h"

#include <torch/torch.h>

#include "fourmi/train/fused_adam.h"
#include "reduced_sync.h"

namespace fourmi::gradsync {

std::unique_ptr<GradSync> make_zero1_sync(models::FNO model, distributed::Communicator& comm,
                                          const config::TrainConfig& train, const distributed::ReducerOptions& options,
                                          const profile::OpRecorder* recorder);  // zero1_sync.cpp

namespace {

int64_t numel_of(const std::vector<torch::Tensor>& tensors) {
  int64_t n = 0;
  for (const auto& t : tensors) n += t.numel();
  return n;
}

// One rank: gradients are already the step's.
class LocalSync : public GradSync {
 public:
  LocalSync(models::FNO model, const config::TrainConfig& train)
      : params_(model->parameters()), optimizer_(train::make_optimizer(train, params_)) {}
  void prepare(bool) override {}
  void step(profile::Profiler* prof) override {
    run_optimizer(
        prof, [&] { return numel_of(params_); }, [&] { optimizer_->step_params(params_); });
  }
  void set_lr(double lr) override { optimizer_->set_lr(lr); }
  torch::optim::Optimizer& checkpoint_optimizer() override { return *optimizer_; }
  bool capturable() const override { return true; }
  void count_replayed_step() override { optimizer_->count_replayed_step(); }

 private:
  std::vector<torch::Tensor> params_;
  std::unique_ptr<train::FusedAdam> optimizer_;
};

// Bucketed all-reduces during backward, then the full update on every rank.
class AllReduceSync : public ReducedSync {
 public:
  AllReduceSync(models::FNO model, distributed::Communicator& comm, const config::TrainConfig& train,
                const distributed::ReducerOptions& options)
      : ReducedSync(model, comm, train, options) {}
  void step(profile::Profiler* prof) override {
    reducer_.finish();
    if (prof) prof->mark("reduce_end");
    run_optimizer(
        prof, [&] { return numel_of(params_); }, [&] { optimizer_->step_params(params_); });
  }
  void set_lr(double lr) override { optimizer_->set_lr(lr); }
};

}  // namespace

void run_optimizer(profile::Profiler* prof, const std::function<int64_t()>& elements,
                   const std::function<void()>& step) {
  if (!prof) return step();
  prof->time_block("optimizer", "optimizer", profile::adam_cost(elements()), step);
}

std::unique_ptr<GradSync> make_grad_sync(models::FNO model, distributed::Communicator& comm,
                                         const config::TrainConfig& train, const distributed::ReducerOptions& options,
                                         const profile::OpRecorder* recorder) {
  if (comm.size() == 1) return std::make_unique<LocalSync>(model, train);
  if (options.shard) return make_zero1_sync(model, comm, train, options, recorder);
  return std::make_unique<AllReduceSync>(model, comm, train, options);
}

}  // namespace fourmi::gradsync
