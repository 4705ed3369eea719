// cmd_import.cpp — `fourmi import`: a dataset another program wrote into fourmi's format (data/import.h).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/data/import.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

int run_import(const CommonOptions& opts) {
  config::Config cfg = one_process_config(load_config(opts));
  cfg.run.device = config::DeviceKind::kCpu;
  runtime::RunContext ctx(cfg);
  require_one_process(ctx, "import");
  const auto& c = cfg.import_data;
  util::info("fourmi import: {} ({}) into {}-train ({} samples) and {}-test ({} samples)", c.path,
             data::import_format(c), c.out, c.n_train, c.out, c.n_test);
  auto out = data::import_datasets(c, cfg.run.progress);
  util::info("wrote {} and {}: samples x [{}] y [{}]; train with data.train: {} and data.test: {}", out.train_dir,
             out.test_dir, fmt::join(out.train.x_shape, ","), fmt::join(out.train.y_shape, ","), out.train_dir,
             out.test_dir);
  return 0;
}

}  // namespace fourmi::cli
