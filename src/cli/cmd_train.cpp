// cmd_train.cpp — `fourmi train`.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <filesystem>
#include <optional>

#include "fourmi/cli/bench_common.h"
#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/runtime/stop_signals.h"
#include "fourmi/train/checkpoint.h"
#include "fourmi/train/run_directory.h"
#include "fourmi/config/config_loader.h"
#include "fourmi/profile/peaks.h"
#include "fourmi/profile/profile_files.h"
#include "fourmi/train/trainer.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

int run_train(const CommonOptions& opts, const TrainOptions& how) {
  // Signals set a flag from here on; the trainer stops at a step boundary and saves.
  runtime::StopSignals stop_signals;
  config::Config cfg = load_config(opts);
  runtime::RunContext ctx(cfg);
  const bool writer = ctx.launch().rank == 0;
  const std::string run_dir = (std::filesystem::path(cfg.run.dir) / cfg.run.name).string();
  const train::RunStart start = how.overwrite     ? train::RunStart::kOverwrite
                                : how.resume      ? train::RunStart::kResume
                                : how.auto_resume ? train::RunStart::kAutoResume
                                                  : train::RunStart::kFresh;
  // Rank 0 locks the directory and checks it before any rank writes; its refusal ends every rank.
  std::optional<train::RunDirectoryLock> lock;
  if (writer) {
    lock.emplace(run_dir);
    if (lock->removed_temp_files() > 0)
      util::info("{}: removed {} temporary file(s) left by an interrupted write", run_dir, lock->removed_temp_files());
    train::prepare_run_directory(run_dir, start);
  }
  ctx.make_run_dir(cfg);  // every rank waits for rank 0's checks
  const auto latest = train::latest_checkpoint(run_dir + "/checkpoints");
  const bool resume = start == train::RunStart::kResume || (start == train::RunStart::kAutoResume && latest);
  if (resume) {
    if (!latest) throw std::runtime_error(fmt::format("--resume: no checkpoint in {}/checkpoints", run_dir));
    const auto [epoch, step] = *train::checkpoint_position(*latest);
    if (step == 0 && epoch >= cfg.train.epochs) {
      util::info(
          "{}: the run is complete ({} of train.epochs {}, {}); nothing to do, nothing changed (raise "
          "train.epochs to train further)",
          run_dir, epoch, cfg.train.epochs, std::filesystem::path(*latest).filename().string());
      return 0;
    }
    cfg = config_for_checkpoint(cfg, *latest, opts);
  }
  util::info("fourmi train: {} rank(s) via {}, device {}, backend {}", ctx.launch().world_size, ctx.launch().launcher,
             ctx.device().str(), ctx.world().backend());
  util::info("{}", config::format_table(cfg));
  if (writer) util::atomic_write_text(run_dir + "/config.yaml", config::to_yaml(cfg));

  data::Dataset train(cfg.data.train, cfg.data.sub, cfg.data.verify_checksums, cfg.data.n_train,
                      cfg.data.stored_levels);
  data::Dataset test(cfg.data.test, cfg.data.sub, cfg.data.verify_checksums, cfg.data.n_test, cfg.data.stored_levels);
  check_data_fits_model(train, cfg.model);
  check_data_fits_model(test, cfg.model);
  if (cfg.train.batch_size < ctx.data_ranks())
    throw std::runtime_error(
        fmt::format("train.batch_size {} is the global batch and must be at least the {} data-parallel ranks",
                    cfg.train.batch_size, ctx.data_ranks()));

  train::Trainer trainer(cfg, build_model(cfg, ctx.modes()), ctx.device(), ctx.data(), run_dir,
                         runtime::reducer_options(ctx.plan()));
  util::info("grid: {} data x {} modes", ctx.data_ranks(), ctx.mode_ranks());
  util::info("model: FNO-{}D, {} parameters on this rank; data: {} train / {} test samples of x [{}]", cfg.model.dim,
             trainer.model()->parameter_count(), train.size(), test.size(), fmt::join(train.x_shape(), ","));
  // Peaks are resolved before training so a missing or bad peaks file fails early. Rank 0
  // measures and saves them when no file exists yet; the others then read its file.
  std::optional<profile::Peaks> peaks;
  if (cfg.profile.enabled) {
    if (ctx.launch().rank == 0) peaks = profile::resolve_peaks(cfg, ctx.device());
    ctx.world().barrier();
    if (ctx.launch().rank != 0) peaks = profile::resolve_peaks(cfg, ctx.device());
  }
  auto result = trainer.fit(train, test, {resume, [] { return runtime::StopSignals::requested(); }});
  if (result.stopped_by != 0) return runtime::kExitStopped;  // the checkpoint is the result; nothing else changes
  const int ranks = ctx.world().size();
  const int64_t per_rank = (cfg.train.batch_size + ctx.data_ranks() - 1) / ctx.data_ranks();
  const nlohmann::json grid = {{"data", ctx.data_ranks()}, {"modes", ctx.mode_ranks()}};
  double step_ms = 0;
  if (trainer.profiler() && trainer.profiler()->finished()) {
    nlohmann::json meta = {{"run", cfg.run.name},
                           {"world_size", ranks},
                           {"grid", grid},
                           {"host", ctx.launch().host},
                           {"device", fmt::format("{} ({})", ctx.device().str(), device_description(ctx.device()))},
                           {"backend", ctx.world().backend()},
                           {"model",
                            {{"dim", cfg.model.dim},
                             {"width", cfg.model.width},
                             {"modes", cfg.model.modes},
                             {"layers", cfg.model.layers},
                             {"resolution", train.x_shape()}}},
                           {"global_batch", cfg.train.batch_size},
                           {"batch_per_rank", per_rank},
                           {"warmup_steps", cfg.profile.warmup_steps}};
    auto doc = profile::write_rank_profile(run_dir + "/profile", ctx.launch().rank, meta, *trainer.profiler(), *peaks);
    step_ms = doc["steps"]["step_ms_mean"].get<double>();
    torch::Tensor t = torch::tensor({step_ms}, torch::kFloat64);
    torch::Tensor on_device = t.to(ctx.device());
    ctx.world().all_reduce(on_device, distributed::ReduceOp::kMax);  // the slowest rank sets the pace
    step_ms = on_device.to(torch::kCPU).item<double>();
    const auto& st = doc["steps"];
    util::info(
        "profile: step {:.2f} ms (compute {:.2f}, exposed comm {:.2f}, data wait {:.2f}); roofline bound {:.2f} ms "
        "({:.0f}% of the step); profiler overhead {} (its host calls {:.3f} ms per step); {}/profile/rank-{:05d}.json",
        st["step_ms_mean"].get<double>(), st["compute_ms"].get<double>(), st["comm_exposed_ms"].get<double>(),
        st["data_wait_ms"].get<double>(), st["roofline_bound_ms"].get<double>(), st["roofline_bound_pct"].get<double>(),
        st["overhead_pct"].is_null() ? std::string("not measured (run too short)")
                                     : fmt::format("{:.1f}%", st["overhead_pct"].get<double>()),
        st["profiler_host_ms"].get<double>(), run_dir, ctx.launch().rank);
  }
  nlohmann::json summary = {
      {"epochs_run", result.epochs_run},
      {"train_rel_l2", result.final_train_loss},
      {"test_rel_l2", result.final_eval.rel_l2},
      {"test_samples", result.final_eval.samples},
      {"seconds", result.seconds},
      {"samples_per_second", result.samples_per_second},
      {"ranks", ranks},
      {"device", ctx.device().str()},
      {"grid", grid},
      {"global_batch", cfg.train.batch_size},
      {"step_ms", step_ms > 0 ? nlohmann::json(step_ms) : nlohmann::json()},
      {"checkpoint", result.last_checkpoint},
      {"parameters_crc32",
       ctx.mode_ranks() == 1 ? nlohmann::json(train::parameter_digest(*trainer.model())) : nlohmann::json()}};
  if (ctx.launch().rank == 0) util::atomic_write_text(run_dir + "/result.json", summary.dump(2) + "\n");
  // Every rank's collectives (op, group, bytes, start, duration, algbw, busbw). With NCCL the times
  // are host-side enqueue times: the kernels run asynchronously on the communication stream.
  nlohmann::json comm = nlohmann::json::array();
  for (const auto& r : ctx.comm_log().records())
    comm.push_back({{"op", r.op},
                    {"group", r.group},
                    {"dtype", r.dtype},
                    {"bytes", r.bytes},
                    {"ranks", r.ranks},
                    {"start_s", r.start_s},
                    {"duration_s", r.duration_s},
                    {"algbw_bytes_per_s", r.algbw()},
                    {"busbw_bytes_per_s", r.busbw()}});
  util::atomic_write_text(fmt::format("{}/profile/comm-rank-{:05d}.json", run_dir, ctx.launch().rank),
                          nlohmann::json{{"schema", "fourmi-comm/1"},
                                         {"rank", ctx.launch().rank},
                                         {"backend", ctx.world().backend()},
                                         {"collectives", comm}}
                                  .dump(1) +
                              "\n");
  util::info("test relative L2 error: {:.5f} ({} samples)", result.final_eval.rel_l2, result.final_eval.samples);
  util::info("metrics:    {}/metrics.jsonl", run_dir);
  util::info("checkpoint: {}", result.last_checkpoint);
  util::info("config:     {}/config.yaml", run_dir);
  return 0;
}

}  // namespace fourmi::cli
