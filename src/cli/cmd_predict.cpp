// cmd_predict.cpp — `fourmi predict`: a checkpoint's predictions on a dataset, as HDF5 files
// sharded like the dataset, with the per-sample relative L2 error (train/predict.h).
#include <fmt/format.h>
#include <torch/torch.h>

#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/train/predict.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

int run_predict(const CommonOptions& opts, const PredictOptions& how) {
  const config::Config given = load_config(opts);
  runtime::RunContext ctx(given);
  TrainedModel m = load_trained_model(opts, given, how.checkpoint, ctx);
  const config::Config& cfg = m.config;
  const std::string data_dir = how.data.empty() ? cfg.data.test : how.data;
  data::Dataset dataset(data_dir, cfg.data.sub, cfg.data.verify_checksums, 0, cfg.data.stored_levels);
  check_data_fits_model(dataset, cfg.model);
  const std::string out_dir = how.out.empty() ? run_directory_of(cfg) + "/predictions" : how.out;
  if (ctx.launch().rank == 0) util::make_dirs(out_dir);
  ctx.world().barrier();  // the directory exists before any rank writes into it
  const int64_t batch = how.batch_size > 0 ? how.batch_size : cfg.train.batch_size;
  auto summary = train::predict_dataset(*m.trainer, dataset, batch, out_dir,
                                        {{"checkpoint", m.checkpoint}, {"epoch", m.meta.epoch}});
  util::info("predict {} (epoch {}) on {}: {} samples into {}/ ({} file(s)); mean relative L2 error {:.5f}",
             m.checkpoint, m.meta.epoch, dataset.dir(), summary.samples, out_dir, summary.files.size(), summary.rel_l2);
  return 0;
}

}  // namespace fourmi::cli
