// cmd_eval.cpp — `fourmi eval`: test relative L2 of a checkpoint, at data.sub's resolution, with the
// model and normalisation stored in the checkpoint.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <filesystem>

#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/train/checkpoint.h"
#include "fourmi/train/trainer.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

int run_eval(const CommonOptions& opts, const EvalOptions& how) {
  config::Config cfg = load_config(opts);
  runtime::RunContext ctx(cfg);
  const std::string run_dir = (std::filesystem::path(cfg.run.dir) / cfg.run.name).string();
  std::string checkpoint = how.checkpoint;
  if (checkpoint.empty()) {
    auto latest = train::latest_checkpoint(run_dir + "/checkpoints");
    if (!latest)
      throw std::runtime_error(
          fmt::format("{}/checkpoints: no checkpoint to evaluate; train first or pass --checkpoint", run_dir));
    checkpoint = *latest;
  }
  cfg = config_for_checkpoint(cfg, checkpoint, opts);  // the model and normalisation it was trained with
  data::Dataset train(cfg.data.train, cfg.data.sub, cfg.data.verify_checksums, cfg.data.n_train,
                      cfg.data.stored_levels);  // for normalisation statistics
  data::Dataset test(cfg.data.test, cfg.data.sub, cfg.data.verify_checksums, cfg.data.n_test, cfg.data.stored_levels);
  check_data_fits_model(test, cfg.model);
  train::Trainer trainer(cfg, build_model(cfg, ctx.modes()), ctx.device(), ctx.data(), run_dir,
                         runtime::reducer_options(ctx.plan()));
  auto meta = train::load_checkpoint(checkpoint, *trainer.model(), nullptr);
  trainer.model()->to(ctx.device());
  trainer.use_normalization(train.manifest());
  auto result = trainer.evaluate(test);
  nlohmann::json out = {{"checkpoint", checkpoint},
                        {"epoch", meta.epoch},
                        {"test_rel_l2", result.rel_l2},
                        {"test_samples", result.samples},
                        {"grid", test.x_shape()}};
  const std::string out_path = how.out.empty() ? run_dir + "/eval.json" : how.out;
  if (ctx.launch().rank == 0) util::atomic_write_text(out_path, out.dump(2) + "\n");
  util::info("eval {} (epoch {}) on {} samples of x [{}]: test relative L2 error {:.5f}", checkpoint, meta.epoch,
             result.samples, fmt::join(test.x_shape(), ","), result.rel_l2);
  return 0;
}

}  // namespace fourmi::cli
