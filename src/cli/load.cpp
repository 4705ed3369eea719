#include "fourmi/cli/load.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "fourmi/config/config_loader.h"

namespace fourmi::cli {

config::Config load_config(const CommonOptions& opts) {
  if (opts.config_path.empty())
    return config::load_config_text(config::embedded_default_config(), "<embedded configs/debug.yaml>", opts.overrides);
  return config::load_config_file(opts.config_path, opts.overrides);
}

void check_data_fits_model(const data::Dataset& ds, const config::ModelConfig& m) {
  auto xs = ds.x_shape(), ys = ds.y_shape();
  if (static_cast<int>(xs.size()) - 1 != m.dim || xs[0] != m.in_channels || ys[0] != m.out_channels)
    throw std::runtime_error(
        fmt::format("{}: samples are x [{}] y [{}] (channels first) but the model expects {} input and {} output "
                    "channels on a {}D grid; "
                    "fix model.dim / model.in_channels / model.out_channels",
                    ds.dir(), fmt::join(xs, ","), fmt::join(ys, ","), m.in_channels, m.out_channels, m.dim));
}

models::FNO build_model(const config::Config& c, distributed::Communicator* modes) {
  torch::manual_seed(c.run.seed);
  return models::FNO(c.model, models::ModeGroup{modes});
}

}  // namespace fourmi::cli
