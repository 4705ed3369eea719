#include "fourmi/train/trainer.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <exception>
#include <filesystem>

#include "fourmi/config/config_loader.h"
#include "fourmi/train/checkpoint.h"
#include "fourmi/train/loss.h"
#include "fourmi/train/schedule.h"
#include "fourmi/util/device.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/log.h"
#include "fourmi/util/progress.h"

namespace fourmi::train {

Trainer::Trainer(config::Config config, models::FNO model, torch::Device device, distributed::Communicator& data_comm,
                 std::string run_dir, const distributed::ReducerOptions& sync)
    : config_(std::move(config)),
      model_(std::move(model)),
      device_(device),
      comm_(data_comm),
      run_dir_(std::move(run_dir)) {
  model_->to(device_);
  if (config_.profile.enabled)
    profiler_ = std::make_unique<profile::Profiler>(device_, comm_.log(), config_.run.tf32,
                                                    config_.profile.sample_ops ? config_.profile.op_samples : 0);
  recorder_ = profile::OpRecorder(profiler_.get(), config_.debug.check_finite);
  model_->set_recorder(&recorder_);
  sync_ = gradsync::make_grad_sync(model_, comm_, config_.train, sync, &recorder_);
  const config::Switch graph = config_.train.cuda_graph;
  const bool can_graph = device_.is_cuda() && sync_->capturable() && !config_.debug.check_finite &&
                         model_->mode_group().size() == 1 && cuda_graphs_available();
  if (graph == config::Switch::kOn && !can_graph)
    throw std::invalid_argument(
        "train.cuda_graph=true needs a CUDA device, one rank and debug.check_finite off (a CUDA build of fourmi); "
        "accepted here: auto or false");
  if (graph != config::Switch::kOff && can_graph)
    graphed_ = std::make_unique<GraphedStep>([this](const data::Batch& b) { return eager_step(b); },
                                             [this] { sync_->count_replayed_step(); });
}

Trainer::~Trainer() {
  sync_.reset();
  model_->set_recorder(nullptr);  // the model may outlive the trainer
}

torch::Tensor Trainer::timed_step(const data::Batch& batch, int64_t g, int64_t total) {
  if (!profiler_ || profiler_->finished()) return train_step(batch);
  // After warm-up, 2 x `steps` steps alternate plain and profiled, all timed the same way
  // (synchronised, and started together on every rank), so the profiler's own cost is measured free
  // of drift between windows and of one rank's late start being timed as another's step. A run
  // too short for that profiles `steps` consecutive steps and measures no overhead.
  const int64_t w = config_.profile.warmup_steps, n = config_.profile.steps;
  bool plain = false, prof = false;
  int64_t prof_end, profiled_count;
  if (total >= w + 2 * n) {
    prof_end = w + 2 * n;
    profiled_count = n;
    if (g >= w && g < prof_end) ((g - w) % 2 == 0 ? plain : prof) = true;
  } else {
    const int64_t begin = std::max<int64_t>(0, std::min(w, total - n));
    prof_end = std::min(total, begin + n);
    profiled_count = prof_end - begin;
    prof = g >= begin && g < prof_end;
  }
  if (!plain && !prof) return train_step(batch);
  // Both kinds of window step run eagerly, so that the profiler's overhead is measured on one path.
  const bool instrument = prof;
  profiler_->plan_steps(profiled_count);  // the same count on every call of a run
  if (instrument) profiler_->prepare_step();
  line_up_ranks();
  auto t0 = std::chrono::steady_clock::now();
  if (instrument) profiler_->begin_step(batch.wait_seconds * 1e3);
  torch::Tensor loss = eager_step(batch);
  if (instrument) profiler_->end_step();
  util::synchronize(device_);
  profiler_->add_wall_time(prof,
                           std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  if (prof && g + 1 == prof_end) profiler_->finish();
  return loss;
}

void Trainer::line_up_ranks() {
  util::synchronize(device_);
  if (comm_.size() == 1 && model_->mode_group().size() == 1) return;
  // A barrier over the data group, then over the mode group, waits for every rank of the grid.
  distributed::CommLog* log = comm_.log();
  if (log) log->set_paused(true);
  comm_.barrier();
  if (model_->mode_group().size() > 1) model_->mode_group().comm->barrier();
  if (log) log->set_paused(false);
}

torch::Tensor Trainer::train_step(const data::Batch& batch) {
  if (graphed_ && !recorder_.recording()) return graphed_->run(batch);
  return eager_step(batch);
}

torch::Tensor Trainer::eager_step(const data::Batch& batch) {
  const int micro = config_.train.grad_accum;
  const int64_t rows = batch.x.size(0);
  const int64_t chunk = (rows + micro - 1) / micro;
  // Drop last step's gradients. Not Optimizer::zero_grad(): it detaches in place, which the
  // reducer's bucket-view gradients do not allow.
  for (auto& p : model_->parameters()) p.mutable_grad().reset();
  torch::Tensor loss_sum = torch::zeros({}, batch.x.options());
  for (int64_t lo = 0; lo < rows; lo += chunk) {
    const int64_t len = std::min(chunk, rows - lo);
    const bool last = lo + len >= rows;
    sync_->prepare(/*sync=*/last);
    torch::Tensor x = x_norm_.encode(batch.x.narrow(0, lo, len));
    torch::Tensor y = batch.y.narrow(0, lo, len);
    torch::Tensor pred = y_norm_.decode(model_->forward(x));
    torch::Tensor w = batch.weight.narrow(0, lo, len);
    torch::Tensor loss = recorder_.run(
        "loss", "loss", [&] { return profile::elementwise_cost(pred.numel(), 2, 4.0); }, pred,
        [&](const torch::Tensor& p) { return relative_l2_loss(p, y, w, static_cast<double>(batch.global_count)); });
    loss.backward();
    loss_sum += loss.detach();  // stays on the device: no host synchronisation inside a step
  }
  profile::Profiler* prof = recorder_.recording();
  if (prof) prof->mark("backward_end");
  sync_->step(prof);
  return loss_sum;
}

torch::Tensor Trainer::reduce_sum(const torch::Tensor& host) {
  // Collectives run where the communicator's backend wants them: the training device.
  torch::Tensor t = host.to(device_);
  comm_.all_reduce(t, distributed::ReduceOp::kSum);
  return t.to(torch::kCPU);
}

void Trainer::use_normalization(const data::Manifest& m) {
  if (config_.data.normalize != config::Normalize::kGaussian) return;
  x_norm_ = data::Normalizer(m.x_stats, device_);
  y_norm_ = data::Normalizer(m.y_stats, device_);
}

EvalResult Trainer::evaluate(data::Dataset& test) {
  torch::NoGradGuard no_grad;
  wait_parameters();
  model_->eval();
  data::Sampler sampler(test.size(), std::max<int64_t>(config_.train.batch_size, comm_.size()), comm_.rank(),
                        comm_.size(), config_.run.seed, /*shuffle=*/false);
  data::DataLoader loader(test, sampler, device_, config_.data.prefetch, config_.data.readahead);
  loader.start_epoch(0);
  torch::Tensor sums = torch::zeros({2}, torch::kFloat64);  // (sum of rel L2, samples)
  while (auto batch = loader.next()) {
    torch::Tensor pred = y_norm_.decode(model_->forward(x_norm_.encode(batch->x)));
    torch::Tensor err = relative_l2_per_sample(pred, batch->y) * batch->weight;
    sums[0] += err.sum().item<double>();
    sums[1] += static_cast<double>(batch->local_count);
  }
  sums = reduce_sum(sums);
  model_->train();
  return {sums[0].item<double>() / std::max(sums[1].item<double>(), 1.0), static_cast<int64_t>(sums[1].item<double>())};
}

FitResult Trainer::fit(data::Dataset& train, data::Dataset& test, bool resume) {
  const auto& tc = config_.train;
  // One writer per job for metrics; one per mode block (data rank 0) for checkpoint shards.
  const bool leader = comm_.rank() == 0 && model_->mode_group().rank() == 0;
  const bool writes_checkpoint = comm_.rank() == 0 && tc.checkpoints;
  const std::string ckpt_dir = (std::filesystem::path(run_dir_) / "checkpoints").string();
  use_normalization(train.manifest());
  int start_epoch = 0;
  if (resume) {
    auto latest = latest_checkpoint(ckpt_dir);
    if (!latest) throw std::runtime_error(fmt::format("--resume: no checkpoint in {}", ckpt_dir));
    start_epoch = load_checkpoint(*latest, *model_, &sync_->checkpoint_optimizer()).epoch;
    model_->to(device_);
    sync_->import_state();
    util::info("resumed from {} (epoch {})", *latest, start_epoch);
  }
  if (writes_checkpoint) util::make_dirs(run_dir_);
  if (leader) metrics_ = MetricsWriter((std::filesystem::path(run_dir_) / "metrics.jsonl").string(), resume);

  data::Sampler sampler(train.size(), tc.batch_size, comm_.rank(), comm_.size(), config_.run.seed,
                        config_.data.shuffle);
  data::DataLoader loader(train, sampler, device_, config_.data.prefetch, config_.data.readahead);
  const int64_t steps = sampler.steps_per_epoch();
  util::ProgressBar bar("train", static_cast<int64_t>(tc.epochs - start_epoch) * steps, config_.run.progress);
  FitResult result;
  auto t_start = std::chrono::steady_clock::now();
  int64_t samples_seen = 0;
  model_->train();
  for (int epoch = start_epoch; epoch < tc.epochs; ++epoch) {
    const double lr = learning_rate(tc, epoch);
    sync_->set_lr(lr);
    auto t_epoch = std::chrono::steady_clock::now();
    loader.start_epoch(epoch, tc.epochs);
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(device_));
    double data_wait = 0;
    int64_t step = 0;
    while (auto batch = loader.next()) {
      data_wait += batch->wait_seconds;
      loss_sum += timed_step(*batch, static_cast<int64_t>(epoch - start_epoch) * steps + step,
                             static_cast<int64_t>(tc.epochs - start_epoch) * steps);
      samples_seen += batch->global_count;
      ++step;
      bar.update(static_cast<int64_t>(epoch - start_epoch) * steps + step, fmt::format("epoch {}", epoch + 1));
    }
    // Per-rank losses are partial sums of the global mean: one all-reduce gives the epoch loss.
    torch::Tensor l = (loss_sum / static_cast<double>(steps)).to(torch::kCPU, torch::kFloat64).reshape({1});
    l = reduce_sum(l);
    result.final_train_loss = l.item<double>();
    double epoch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_epoch).count();
    nlohmann::json rec = {{"epoch", epoch + 1},
                          {"lr", lr},
                          {"train_rel_l2", result.final_train_loss},
                          {"epoch_seconds", epoch_s},
                          {"data_wait_seconds", data_wait},
                          {"samples_per_second", static_cast<double>(train.size()) / epoch_s}};
    const bool last = epoch + 1 == tc.epochs;
    if ((epoch + 1) % tc.eval_every == 0 || last) {
      result.final_eval = evaluate(test);
      rec["test_rel_l2"] = result.final_eval.rel_l2;
      util::info("epoch {:4d}  lr {:.2e}  train rel L2 {:.5f}  test rel L2 {:.5f}  ({:.2f} s/epoch)", epoch + 1, lr,
                 result.final_train_loss, result.final_eval.rel_l2, epoch_s);
    }
    metrics_.write(rec);
    if (tc.checkpoints && ((epoch + 1) % tc.checkpoint_every == 0 || last)) {
      wait_parameters();
      // A sharded optimizer's state is assembled (collectively) into per-parameter state for the writer.
      sync_->export_state(writes_checkpoint);
      if (writes_checkpoint)
        result.last_checkpoint =
            save_checkpoint(ckpt_dir, *model_, sync_->checkpoint_optimizer(), {epoch + 1, config::to_yaml(config_)});
      sync_->drop_exported_state();
    }
    result.epochs_run = epoch + 1 - start_epoch;
  }
  bar.finish();
  wait_parameters();
  if (profiler_) profiler_->finish();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  result.samples_per_second = static_cast<double>(samples_seen) / std::max(result.seconds, 1e-9);
  return result;
}

}  // namespace fourmi::train
