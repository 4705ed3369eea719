// load.h — helpers the commands share: config resolution and model construction.
#pragma once

#include <memory>
#include <string>

#include "fourmi/cli/commands.h"
#include "fourmi/config/config.h"
#include "fourmi/data/dataset.h"
#include "fourmi/models/fno.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/train/checkpoint.h"
#include "fourmi/train/trainer.h"

namespace fourmi::cli {

config::Config load_config(const CommonOptions& opts);
// The config to build the model of `checkpoint` with: `cfg` with the keys that define a trained
// model (config::defines_trained_model) taken from the config stored in the checkpoint. Where the
// config the user gave (the file of -c, or the --set keys when no file is given) disagrees on such
// a key, throws a ConfigError naming every key and both values, unless opts.model_from_checkpoint.
config::Config config_for_checkpoint(const config::Config& cfg, const std::string& checkpoint,
                                     const CommonOptions& opts);
// Checks that the dataset's channels and dimensions fit the model config; throws naming both.
void check_data_fits_model(const data::Dataset& ds, const config::ModelConfig& m);
// Builds the FNO with parameters seeded from run.seed (identical on every rank), its spectral
// modes split over `modes` (the replica's mode group; null for one rank).
models::FNO build_model(const config::Config& c, distributed::Communicator* modes = nullptr);

// A checkpoint's model ready to run on this rank (eval, predict, export): the config it was
// trained with, its parameters on the run's device, the training split's normalisation.
struct TrainedModel {
  config::Config config;   // config_for_checkpoint's
  std::string checkpoint;  // the file read
  train::CheckpointMeta meta;
  std::unique_ptr<train::Trainer> trainer;
};
// Loads `checkpoint` (empty: the newest in the run directory of `cfg`) on every rank of `ctx`.
// Collective: every rank calls it. Throws naming the run directory when there is no checkpoint.
TrainedModel load_trained_model(const CommonOptions& opts, const config::Config& cfg, std::string checkpoint,
                                runtime::RunContext& ctx);
// `cfg` for a command that runs as one process (datagen, import, export): no data or mode grid.
config::Config one_process_config(config::Config cfg);
// Throws, naming `command`, when `ctx` was launched with several ranks.
void require_one_process(const runtime::RunContext& ctx, const char* command);
// <run.dir>/<run.name>.
std::string run_directory_of(const config::Config& cfg);

}  // namespace fourmi::cli
