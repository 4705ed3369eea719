#include "fourmi/train/trainer.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <exception>
#include <filesystem>

#include "fourmi/config/config_loader.h"
#include "fourmi/runtime/stop_signals.h"
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
  if (config_.model.rollout_steps > 0 && config_.data.normalize != config::Normalize::kNone)
    throw config::ConfigError(
        "model.rollout_steps feeds the model's outputs back as its inputs, so x and y must share their units: "
        "accepted with data.normalize: none (the FNO paper's Navier-Stokes setting)");
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
  if (one_process()) return;
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
    torch::Tensor pred = y_norm_.decode(models::forward_rollout(*model_, x));
    torch::Tensor w = batch.weight.narrow(0, lo, len);
    torch::Tensor loss = recorder_.run(
        "loss", "loss", [&] { return profile::elementwise_cost(pred.numel(), 2, 4.0); }, pred,
        [&](const torch::Tensor& p) { return step_loss(p, y, w, static_cast<double>(batch.global_count)); });
    loss.backward();
    loss_sum += loss.detach();  // stays on the device: no host synchronisation inside a step
  }
  profile::Profiler* prof = recorder_.recording();
  if (prof) prof->mark("backward_end");
  sync_->step(prof);
  return loss_sum;
}

torch::Tensor Trainer::step_loss(const torch::Tensor& pred, const torch::Tensor& y, const torch::Tensor& weight,
                                 double global_count) const {
  const int steps = config_.model.rollout_steps;
  if (steps == 0) return relative_l2_loss(pred, y, weight, global_count);
  // A rollout's loss: the relative L2 of each step's snapshots, averaged over the steps.
  const int64_t per_step = config_.model.out_channels;
  torch::Tensor loss = relative_l2_loss(pred.narrow(1, 0, per_step), y.narrow(1, 0, per_step), weight, global_count);
  for (int s = 1; s < steps; ++s)
    loss = loss + relative_l2_loss(pred.narrow(1, s * per_step, per_step), y.narrow(1, s * per_step, per_step), weight,
                                   global_count);
  return loss / static_cast<double>(steps);
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

torch::Tensor Trainer::predict(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  wait_parameters();
  const bool training = model_->is_training();
  model_->eval();
  torch::Tensor y = y_norm_.decode(models::forward_rollout(*model_, x_norm_.encode(x)));
  model_->train(training);
  return y;
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
    torch::Tensor pred = predict(batch->x);
    torch::Tensor err = relative_l2_per_sample(pred, batch->y) * batch->weight;
    sums[0] += err.sum().item<double>();
    sums[1] += static_cast<double>(batch->local_count);
  }
  sums = reduce_sum(sums);
  model_->train();
  return {sums[0].item<double>() / std::max(sums[1].item<double>(), 1.0), static_cast<int64_t>(sums[1].item<double>())};
}

int Trainer::agree_max(int local) {
  if (one_process()) return local;
  torch::Tensor t = torch::tensor({static_cast<double>(local)}, torch::kFloat64).to(device_);
  comm_.all_reduce(t, distributed::ReduceOp::kMax);
  if (model_->mode_group().size() > 1) model_->mode_group().comm->all_reduce(t, distributed::ReduceOp::kMax);
  return static_cast<int>(t.to(torch::kCPU).item<double>());
}

std::string Trainer::write_checkpoint(int epoch, int step, double epoch_loss_sum) {
  wait_parameters();
  std::vector<torch::Tensor> finite;
  for (const auto& p : model_->parameters()) finite.push_back(torch::isfinite(p.detach()).all());
  // Every rank checks its own parameters (mode blocks differ); all agree before anyone writes.
  const bool bad = !torch::stack(finite).all().item<bool>();
  if (agree_max(bad ? 1 : 0) != 0)
    throw std::runtime_error(
        fmt::format("the parameters hold NaN or Inf after {} epoch(s){}: no checkpoint was written (the newest one in "
                    "{}/checkpoints "
                    "is kept); lower train.lr, or set debug.check_finite: true to name the first op that produced them",
                    epoch, step > 0 ? fmt::format(" and {} step(s)", step) : "", run_dir_));
  // A sharded optimizer's state is assembled (collectively) into per-parameter state for the writer.
  const bool writer = comm_.rank() == 0;
  sync_->export_state(writer);
  std::string path;
  if (writer)
    path = save_checkpoint(checkpoint_dir(), *model_, sync_->checkpoint_optimizer(),
                           {epoch, config::to_yaml(config_), step, epoch_loss_sum});
  sync_->drop_exported_state();
  return path;
}

void Trainer::fail_nonfinite_loss(const torch::Tensor& losses, int epoch, int64_t first_step) {
  torch::Tensor bad = torch::nonzero(~torch::isfinite(losses.narrow(0, first_step, losses.size(0) - first_step)));
  const int local = bad.numel() > 0 ? static_cast<int>(first_step + bad[0][0].item<int64_t>()) : INT32_MAX;
  const int first = -agree_max(-local);  // the earliest over the ranks
  throw std::runtime_error(fmt::format(
      "epoch {} step {} of {}: the training loss is NaN or Inf; stopped without writing a checkpoint of this epoch "
      "(the newest one in {}/checkpoints is kept); lower train.lr, or set debug.check_finite: true to name the first "
      "op that produced it",
      epoch + 1, first + 1, losses.size(0), run_dir_));
}

FitResult Trainer::fit(data::Dataset& train, data::Dataset& test, const FitOptions& options) {
  const auto& tc = config_.train;
  // One writer per job for metrics; one per mode block (data rank 0) for checkpoint shards.
  const bool leader = comm_.rank() == 0 && model_->mode_group().rank() == 0;
  const std::string ckpt_dir = checkpoint_dir();
  use_normalization(train.manifest());
  int start_epoch = 0;
  int64_t first_step = 0;
  double resumed_loss = 0;  // the loss summed over the steps done before a stop inside an epoch
  if (options.resume) {
    auto latest = latest_checkpoint(ckpt_dir);
    if (!latest) throw std::runtime_error(fmt::format("--resume: no checkpoint in {}", ckpt_dir));
    CheckpointMeta meta = load_checkpoint(*latest, *model_, &sync_->checkpoint_optimizer());
    start_epoch = meta.epoch;
    first_step = meta.step;
    if (comm_.rank() == 0) resumed_loss = meta.epoch_loss_sum;  // the sum over all ranks, counted once
    model_->to(device_);
    sync_->import_state();
    util::info("resumed from {} (epoch {}{})", *latest, start_epoch,
               first_step > 0 ? fmt::format(", step {}", first_step) : "");
  }
  if (comm_.rank() == 0 && tc.checkpoints) util::make_dirs(run_dir_);
  if (leader)
    metrics_ =
        MetricsWriter((std::filesystem::path(run_dir_) / "metrics.jsonl").string(), options.resume ? start_epoch : -1,
                      (std::filesystem::path(run_dir_) / "tensorboard").string());

  data::Sampler sampler(train.size(), tc.batch_size, comm_.rank(), comm_.size(), config_.run.seed,
                        config_.data.shuffle);
  data::DataLoader loader(train, sampler, device_, config_.data.prefetch, config_.data.readahead);
  const int64_t steps = sampler.steps_per_epoch();
  const int64_t total_steps = static_cast<int64_t>(tc.epochs - start_epoch) * steps - first_step;
  util::ProgressBar bar("train", total_steps, config_.run.progress);
  FitResult result;
  auto t_start = std::chrono::steady_clock::now();
  int64_t samples_seen = 0, done_steps = 0;
  auto stop_signal = [&](int64_t step_in_epoch) {  // polled after a step; the same steps on every rank
    if (!options.stop_requested) return 0;
    if (!one_process() && step_in_epoch % kStopPollSteps != 0 && step_in_epoch != steps) return 0;
    return agree_max(options.stop_requested());
  };
  // Stops after (epoch, step), writing the checkpoint there unless the epoch's own was just written.
  auto stop_at = [&](int sig, int epoch, int64_t step, double loss_sum, bool written) {
    result.stopped_by = sig;
    const char* name = runtime::StopSignals::name(sig);
    if (!tc.checkpoints) {
      wait_parameters();
      util::info("stopping on {}: train.checkpoints is false, so nothing was saved", name);
      return;
    }
    if (!written) result.last_checkpoint = write_checkpoint(epoch, static_cast<int>(step), loss_sum);
    // Every rank waits for the writer: the stop's exit status is non-zero, and launchers (mpirun,
    // srun --kill-on-bad-exit) end the other ranks as soon as one rank exits with it.
    agree_max(0);
    if (comm_.rank() == 0)
      util::info("stopping on {} after epoch {} step {}: checkpoint {}; continue with --resume", name, epoch, step,
                 result.last_checkpoint);
  };
  model_->train();
  for (int epoch = start_epoch; epoch < tc.epochs; ++epoch) {
    const double lr = learning_rate(tc, epoch);
    sync_->set_lr(lr);
    auto t_epoch = std::chrono::steady_clock::now();
    const int64_t begin = epoch == start_epoch ? first_step : 0;
    loader.start_epoch(epoch, tc.epochs, begin);
    // This rank's share of each step's loss stays on the device: no host synchronisation per step.
    torch::Tensor losses = torch::zeros({steps}, torch::TensorOptions().device(device_));
    double data_wait = 0;
    int64_t step = begin;
    while (auto batch = loader.next()) {
      data_wait += batch->wait_seconds;
      losses[step].copy_(timed_step(*batch, done_steps, total_steps));
      samples_seen += batch->global_count;
      ++step;
      ++done_steps;
      bar.update(done_steps, fmt::format("epoch {}", epoch + 1));
      if (step < steps) {
        if (int sig = stop_signal(step)) {
          const double partial = reduce_sum(losses.sum().to(torch::kCPU, torch::kFloat64).reshape({1})).item<double>();
          if (!std::isfinite(partial)) fail_nonfinite_loss(losses, epoch, begin);
          stop_at(sig, epoch, step, partial + resumed_loss, false);
          bar.finish();
          return result;
        }
      }
    }
    // Per-rank losses are partial sums of the global mean: one all-reduce gives the epoch loss.
    torch::Tensor l =
        losses.sum().to(torch::kCPU, torch::kFloat64).reshape({1}) + (epoch == start_epoch ? resumed_loss : 0);
    l = reduce_sum(l) / static_cast<double>(steps);
    result.final_train_loss = l.item<double>();
    if (!std::isfinite(result.final_train_loss)) fail_nonfinite_loss(losses, epoch, begin);
    double epoch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_epoch).count();
    nlohmann::json rec = {{"epoch", epoch + 1},
                          {"lr", lr},
                          {"train_rel_l2", result.final_train_loss},
                          {"epoch_seconds", epoch_s},
                          {"step_seconds", epoch_s / static_cast<double>(std::max<int64_t>(1, steps - begin))},
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
    const bool written = tc.checkpoints && ((epoch + 1) % tc.checkpoint_every == 0 || last);
    if (written) result.last_checkpoint = write_checkpoint(epoch + 1, 0, 0.0);
    result.epochs_run = epoch + 1 - start_epoch;
    if (!last) {
      if (int sig = stop_signal(steps)) {
        stop_at(sig, epoch + 1, 0, 0.0, written);
        bar.finish();
        return result;
      }
    }
  }
  bar.finish();
  wait_parameters();
  if (profiler_) profiler_->finish();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  result.samples_per_second = static_cast<double>(samples_seen) / std::max(result.seconds, 1e-9);
  return result;
}

}  // namespace fourmi::train
