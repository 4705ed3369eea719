// load.h — helpers the commands share: config resolution and model construction.
#pragma once

#include <string>

#include "fourmi/cli/commands.h"
#include "fourmi/config/config.h"
#include "fourmi/data/dataset.h"
#include "fourmi/models/fno.h"

namespace fourmi::cli {

config::Config load_config(const CommonOptions& opts);
// Checks that the dataset's channels and dimensions fit the model config; throws naming both.
void check_data_fits_model(const data::Dataset& ds, const config::ModelConfig& m);
// Builds the FNO with parameters seeded from run.seed (identical on every rank), its spectral
// modes split over `modes` (the replica's mode group; null for one rank).
models::FNO build_model(const config::Config& c, distributed::Communicator* modes = nullptr);

}  // namespace fourmi::cli
