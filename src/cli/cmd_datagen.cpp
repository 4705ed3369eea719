// cmd_datagen.cpp — `fourmi datagen [pde]`.
#include <fmt/format.h>
#include <torch/torch.h>

#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/data/generate.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

int run_datagen(const CommonOptions& opts, const std::string& pde) {
  config::Config cfg = load_config(opts);
  // A PDE named on the command line (checked against the accepted ones by the parser) replaces
  // the config's, unless --set datagen.pde says otherwise; when it differs from the config's it
  // writes to data/<pde> unless datagen.out is given too: the config's prefix belongs to its PDE.
  auto given = [&](const char* key) {
    for (const auto& s : opts.overrides)
      if (s.rfind(key, 0) == 0) return true;
    return false;
  };
  if (!pde.empty() && cfg.datagen.pde != pde) {
    if (!given("datagen.pde=")) cfg.datagen.pde = pde;
    if (!given("datagen.out=")) cfg.datagen.out.clear();
  }
  cfg = one_process_config(std::move(cfg));
  runtime::RunContext ctx(cfg);
  require_one_process(ctx, "datagen");
  util::info("fourmi datagen {}: {} train + {} test samples into {} shard(s) each, on {}", cfg.datagen.pde,
             cfg.datagen.n_train, cfg.datagen.n_test, cfg.datagen.shards, ctx.device().str());
  auto out = data::generate_datasets(cfg.datagen, ctx.device(), cfg.run.progress);
  util::info("wrote {} ({} samples) and {} ({} samples)", out.train_dir, out.train.num_samples, out.test_dir,
             out.test.num_samples);
  return 0;
}

}  // namespace fourmi::cli
