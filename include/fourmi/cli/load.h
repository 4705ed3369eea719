// load.h — helpers the commands share: config resolution and model construction.
#pragma once

#include <string>

#include "fourmi/cli/commands.h"
#include "fourmi/config/config.h"
#include "fourmi/data/dataset.h"
#include "fourmi/models/fno.h"

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

}  // namespace fourmi::cli
