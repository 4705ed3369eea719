// zero1_sync.cpp — ZeRO stage 1: sharded buckets, the sharded Adam, the parameters' all-gathers
// and the forward's waits for them, and the checkpoint export of the sharded state.
#include <fmt/format.h>
#include <torch/torch.h>

#include <exception>
#include <map>
#include <set>

#include "fourmi/gradsync/grad_sync.h"
#include "fourmi/gradsync/sharded_adam.h"
#include "fourmi/profile/op_recorder.h"
#include "fourmi/train/fused_adam.h"
#include "reduced_sync.h"

namespace fourmi::gradsync {
namespace {

// Buckets updated after backward's end: the first stages' gradients, produced last.
constexpr size_t kLateBuckets = 2;

// Runs `wait` (the compute stream waiting for a collective) between the profiler's wait marks.
template <class Wait>
void marked_wait(profile::Profiler* prof, Wait&& wait) {
  if (prof) prof->mark_wait(true);
  wait();
  if (prof) prof->mark_wait(false);
}

class Zero1Sync : public ReducedSync {
 public:
  Zero1Sync(models::FNO model, distributed::Communicator& comm, const config::TrainConfig& train,
            const distributed::ReducerOptions& options, const profile::OpRecorder* recorder)
      : ReducedSync(model, comm, train, options), recorder_(recorder) {
    sharded_ = std::make_unique<ShardedAdam>(reducer_, comm, train::make_optimizer(train, reducer_.update_tensors()));
    // Which buckets each forward stage reads, so that the next forward waits for them just in time.
    std::map<const void*, size_t> index;
    for (size_t k = 0; k < params_.size(); ++k) index[params_[k].unsafeGetTensorImpl()] = k;
    size_t staged = 0;
    for (const auto& stage : model_->stage_parameters()) {
      std::set<size_t> buckets;
      for (const auto& p : stage) buckets.insert(reducer_.bucket_of(index.at(p.unsafeGetTensorImpl())));
      stage_buckets_.emplace_back(buckets.begin(), buckets.end());
      staged += stage.size();
    }
    if (staged != params_.size())
      throw std::logic_error(
          fmt::format("Zero1Sync: the model's stages list {} parameters of {}", staged, params_.size()));
    model_->set_stage_hook([this](int stage) { wait_stage(stage); });
  }

  ~Zero1Sync() override {
    model_->set_stage_hook({});
    // During unwinding other ranks may never join the pending gathers; the job is being ended anyway.
    if (std::uncaught_exceptions() == 0) reducer_.wait_all_parameters();
  }

  void step(profile::Profiler* prof) override {
    reducer_.launch_remaining();
    // Two updates, each one fused launch: the buckets whose reductions ran during backward, then the
    // last two (the first stages' gradients, produced at backward's end), so that only the latter's
    // small update waits for the last reduce-scatter. One launch per bucket cost medium about 0.06 ms a step.
    const size_t n = reducer_.num_buckets(), late = n > kLateBuckets ? n - kLateBuckets : 0;
    auto update_range = [&](size_t first, size_t last) {
      for (size_t b = first; b < last; ++b) marked_wait(prof, [&] { reducer_.wait_bucket(b); });
      if (first == last) return;
      auto elements = [&] {
        int64_t count = 0;
        for (size_t b = first; b < last; ++b)
          for (const auto& t : reducer_.update_tensors(b)) count += t.numel();
        return count;
      };
      run_optimizer(prof, elements, [&] { sharded_->step_buckets(first, last); });
    };
    update_range(0, late);
    update_range(late, n);
    // Launched last bucket first: the first layers' parameters, which the next forward needs first.
    reducer_.all_gather_parameters();
  }

  void set_lr(double lr) override {
    for (auto* opt : {static_cast<torch::optim::Optimizer*>(optimizer_.get()), &sharded_->optimizer()})
      for (auto& group : opt->param_groups()) group.options().set_lr(lr);
  }
  void wait_parameters() override { reducer_.wait_all_parameters(); }
  void export_state(bool writer) override { sharded_->export_state(params_, *optimizer_, writer); }
  void drop_exported_state() override { ShardedAdam::drop_state(params_, *optimizer_); }
  void import_state() override { sharded_->import_state(params_, *optimizer_); }

 private:
  void wait_stage(int stage) {
    for (size_t b : stage_buckets_.at(stage))
      if (reducer_.gathering(b))
        marked_wait(recorder_ ? recorder_->recording() : nullptr, [&] { reducer_.wait_parameters(b); });
  }

  const profile::OpRecorder* recorder_;  // the forward's waits are marked in the step it records
  std::unique_ptr<ShardedAdam> sharded_;
  std::vector<std::vector<size_t>> stage_buckets_;  // buckets whose parameters each forward stage reads
};

}  // namespace

std::unique_ptr<GradSync> make_zero1_sync(models::FNO model, distributed::Communicator& comm,
                                          const config::TrainConfig& train, const distributed::ReducerOptions& options,
                                          const profile::OpRecorder* recorder) {
  return std::make_unique<Zero1Sync>(model, comm, train, options, recorder);
}

}  // namespace fourmi::gradsync
