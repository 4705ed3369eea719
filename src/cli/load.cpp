#include "fourmi/cli/load.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <filesystem>

#include "fourmi/config/config_loader.h"
#include "fourmi/train/checkpoint.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

config::Config load_config(const CommonOptions& opts) {
  if (opts.config_path.empty())
    return config::load_config_text(config::embedded_default_config(), "<embedded configs/debug.yaml>", opts.overrides);
  return config::load_config_file(opts.config_path, opts.overrides);
}

config::Config config_for_checkpoint(const config::Config& cfg, const std::string& checkpoint,
                                     const CommonOptions& opts) {
  const train::CheckpointMeta meta = train::read_checkpoint_meta(checkpoint);
  const config::Config stored = config::load_config_text(meta.config_yaml, checkpoint + " (its stored config)");
  std::vector<config::KeyDifference> stated;
  for (auto& d : config::trained_model_differences(stored, cfg)) {
    bool given = !opts.config_path.empty();
    for (const auto& o : opts.overrides) given = given || o.rfind(d.key + "=", 0) == 0;
    if (given) stated.push_back(d);
  }
  if (!stated.empty()) {
    const std::string source = opts.config_path.empty() ? "--set" : opts.config_path;
    std::string rows;
    for (const auto& d : stated) rows += fmt::format("\n  {}: {} in the checkpoint, {} in {}", d.key, d.a, d.b, source);
    if (!opts.model_from_checkpoint)
      throw config::ConfigError(fmt::format(
          "{}: the checkpoint was trained with another model than the config gives:{}\nthe model is built from "
          "the checkpoint: drop these keys from the config (or use the run's config.yaml), or pass "
          "--model-from-checkpoint to take the checkpoint's values",
          checkpoint, rows));
    util::info("{}: --model-from-checkpoint: the checkpoint's values replace the config's:{}", checkpoint, rows);
  }
  return config::with_trained_model_of(cfg, stored);
}

void check_data_fits_model(const data::Dataset& ds, const config::ModelConfig& m) {
  auto xs = ds.x_shape(), ys = ds.y_shape();
  const int64_t y_channels = static_cast<int64_t>(m.out_channels) * std::max(1, m.rollout_steps);
  if (static_cast<int>(xs.size()) - 1 == m.dim && xs[0] == m.in_channels && ys[0] == y_channels) return;
  if (m.rollout_steps > 0)
    throw std::runtime_error(fmt::format(
        "{}: samples are x [{}] y [{}] (channels first) but the model rolls out {} steps of {} channel(s) from {} "
        "input channels on a {}D grid, so y needs {} channels; fix model.rollout_steps / model.in_channels / "
        "model.out_channels",
        ds.dir(), fmt::join(xs, ","), fmt::join(ys, ","), m.rollout_steps, m.out_channels, m.in_channels, m.dim,
        y_channels));
  throw std::runtime_error(
      fmt::format("{}: samples are x [{}] y [{}] (channels first) but the model expects {} input and {} output "
                  "channels on a {}D grid; "
                  "fix model.dim / model.in_channels / model.out_channels",
                  ds.dir(), fmt::join(xs, ","), fmt::join(ys, ","), m.in_channels, m.out_channels, m.dim));
}

models::FNO build_model(const config::Config& c, distributed::Communicator* modes) {
  torch::manual_seed(c.run.seed);
  return models::FNO(c.model, models::ModeGroup{modes});
}

std::string run_directory_of(const config::Config& cfg) {
  return (std::filesystem::path(cfg.run.dir) / cfg.run.name).string();
}

config::Config one_process_config(config::Config cfg) {
  cfg.parallel.data = {};  // the training grid does not apply
  cfg.parallel.modes = {1};
  return cfg;
}

void require_one_process(const runtime::RunContext& ctx, const char* command) {
  if (ctx.launch().world_size > 1)
    throw std::runtime_error(fmt::format("fourmi {} runs as a single process; start it without mpirun/srun", command));
}

TrainedModel load_trained_model(const CommonOptions& opts, const config::Config& cfg, std::string checkpoint,
                                runtime::RunContext& ctx) {
  const std::string run_dir = run_directory_of(cfg);
  if (checkpoint.empty()) {
    auto latest = train::latest_checkpoint(run_dir + "/checkpoints");
    if (!latest)
      throw std::runtime_error(fmt::format("{}/checkpoints: no checkpoint; train first or pass --checkpoint", run_dir));
    checkpoint = *latest;
  }
  TrainedModel m;
  m.checkpoint = checkpoint;
  m.config = config_for_checkpoint(cfg, checkpoint, opts);  // the model and normalisation it was trained with
  m.trainer = std::make_unique<train::Trainer>(m.config, build_model(m.config, ctx.modes()), ctx.device(), ctx.data(),
                                               run_dir, runtime::reducer_options(ctx.plan()));
  m.meta = train::load_checkpoint(checkpoint, *m.trainer->model(), nullptr);
  m.trainer->model()->to(ctx.device());
  // The normalisation statistics are the training split's (its manifest; no shard is opened).
  m.trainer->use_normalization(data::Manifest::load(m.config.data.train));
  return m;
}

}  // namespace fourmi::cli
