// cmd_export.cpp — `fourmi export`: a checkpoint as one self-describing model file for use outside
// fourmi (python/fourmi_torch loads it as a torch.nn.Module); mode blocks of a checkpoint written
// with parallel.modes > 1 are joined.
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>

#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/train/checkpoint.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

int run_export(const CommonOptions& opts, const ExportOptions& how) {
  config::Config given = one_process_config(load_config(opts));  // the whole model in one process
  given.run.device = config::DeviceKind::kCpu;
  runtime::RunContext ctx(given);
  require_one_process(ctx, "export");
  TrainedModel m = load_trained_model(opts, given, how.checkpoint, ctx);
  const std::string out = how.out.empty() ? run_directory_of(m.config) + "/model.safetensors" : how.out;
  train::export_model(out, *m.trainer->model(), m.config, m.trainer->x_normalizer(), m.trainer->y_normalizer(),
                      m.checkpoint, m.meta.epoch);
  util::info("exported {} (epoch {}, {} parameters) to {}; in Python: fourmi_torch.load(\"{}\")", m.checkpoint,
             m.meta.epoch, m.trainer->model()->parameter_count(), out, out);
  return 0;
}

}  // namespace fourmi::cli
