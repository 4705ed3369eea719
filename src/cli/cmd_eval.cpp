// cmd_eval.cpp — `fourmi eval`: test relative L2 of a checkpoint, at data.sub's resolution, with the
// model and normalisation stored in the checkpoint.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

int run_eval(const CommonOptions& opts, const EvalOptions& how) {
  const config::Config given = load_config(opts);
  runtime::RunContext ctx(given);
  TrainedModel m = load_trained_model(opts, given, how.checkpoint, ctx);
  const config::Config& cfg = m.config;
  data::Dataset test(cfg.data.test, cfg.data.sub, cfg.data.verify_checksums, cfg.data.n_test, cfg.data.stored_levels);
  check_data_fits_model(test, cfg.model);
  auto result = m.trainer->evaluate(test);
  nlohmann::json out = {{"checkpoint", m.checkpoint},
                        {"epoch", m.meta.epoch},
                        {"test_rel_l2", result.rel_l2},
                        {"test_samples", result.samples},
                        {"grid", test.x_shape()}};
  const std::string out_path = how.out.empty() ? run_directory_of(cfg) + "/eval.json" : how.out;
  if (ctx.launch().rank == 0) util::atomic_write_text(out_path, out.dump(2) + "\n");
  util::info("eval {} (epoch {}) on {} samples of x [{}]: test relative L2 error {:.5f}", m.checkpoint, m.meta.epoch,
             result.samples, fmt::join(test.x_shape(), ","), result.rel_l2);
  return 0;
}

}  // namespace fourmi::cli
