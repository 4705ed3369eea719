// cmd_datagen.cpp — `fourmi datagen [pde]`.
#include <fmt/format.h>
#include <torch/torch.h>

#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/cli/run_context.h"
#include "fourmi/data/generate.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

int run_datagen(const CommonOptions& opts, const std::string& pde) {
  CommonOptions o = opts;
  if (!pde.empty()) o.overrides.insert(o.overrides.begin(), "datagen.pde=" + pde);
  config::Config cfg = load_config(o);
  // A PDE named on the command line that differs from the config's writes to data/<pde>
  // unless datagen.out is given too: the config's output prefix belongs to its own PDE.
  bool out_given = false;
  for (const auto& s : opts.overrides) out_given = out_given || s.rfind("datagen.out=", 0) == 0;
  if (!pde.empty() && !out_given && load_config(opts).datagen.pde != pde) cfg.datagen.out.clear();
  cfg.parallel.data = "auto";  // one process: the training grid does not apply
  cfg.parallel.modes = "1";
  RunContext ctx(cfg);
  if (ctx.launch().world_size > 1)
    throw std::runtime_error("fourmi datagen runs as a single process; start it without mpirun/srun");
  util::info("fourmi datagen {}: {} train + {} test samples into {} shard(s) each, on {}", cfg.datagen.pde, cfg.datagen.n_train,
             cfg.datagen.n_test, cfg.datagen.shards, ctx.device().str());
  auto out = data::generate_datasets(cfg.datagen, ctx.device(), cfg.run.progress);
  util::info("wrote {} ({} samples) and {} ({} samples)", out.train_dir, out.train.num_samples, out.test_dir, out.test.num_samples);
  return 0;
}

}  // namespace fourmi::cli
