#include "fourmi/data/generate.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>

#include "fourmi/data/burgers1d.h"
#include "fourmi/data/dataset.h"
#include "fourmi/data/grf.h"
#include "fourmi/util/progress.h"

namespace fourmi::data {
namespace {

nlohmann::json burgers_params(const config::DatagenConfig& c) {
  const auto& b = c.burgers1d;
  return {{"pde", "burgers1d"}, {"seed", c.seed}, {"resolution", b.resolution}, {"viscosity", b.viscosity},
          {"t_final", b.t_final}, {"grf_gamma", b.grf_gamma}, {"grf_tau", b.grf_tau}, {"grf_sigma", b.grf_sigma},
          {"cfl", b.cfl}, {"solver", "pseudo-spectral, 2/3 dealiasing, integrating-factor RK4"}};
}

Manifest generate_split(const config::DatagenConfig& c, const std::string& split, int64_t count, std::uint64_t stream,
                        torch::Device device, bool progress) {
  const auto& b = c.burgers1d;
  std::string base = std::filesystem::path(c.out).filename().string();
  std::string dir = c.out + "-" + split;
  Manifest header;
  header.name = base + "-" + split;
  header.split = split;
  header.pde = c.pde;
  header.num_samples = count;
  header.x_shape = {1, b.resolution};
  header.y_shape = {1, b.resolution};
  header.generator = burgers_params(c);
  header.generator["split_stream"] = stream;
  DatasetWriter writer(dir, header, c.shards);
  util::ProgressBar bar(fmt::format("datagen {} {}", header.name, device.str()), count, progress);
  for (int64_t first = 0; first < count; first += c.batch) {
    int64_t k = std::min<int64_t>(c.batch, count - first);
    // Each split draws from its own stream of per-sample seeds.
    torch::Tensor u0 = periodic_grf_1d(k, b.resolution, b.grf_gamma, b.grf_tau, b.grf_sigma,
                                       sample_seed(c.seed, stream, 0), first, device);
    BurgersSolveStats stats;
    torch::Tensor u1 = solve_burgers1d(u0, b.viscosity, b.t_final, b.cfl, &stats);
    if (!torch::isfinite(u1).all().item<bool>())
      throw std::runtime_error(fmt::format("datagen burgers1d: the solve of samples {}..{} diverged; lower datagen.burgers1d.cfl or raise the resolution",
                                           first, first + k));
    writer.append(u0.unsqueeze(1), u1.unsqueeze(1));
    bar.update(first + k, fmt::format("({} steps, dt {:.2e})", stats.steps, stats.dt));
  }
  bar.finish();
  return writer.finish();
}

}  // namespace

GeneratedDatasets generate_datasets(const config::DatagenConfig& c, torch::Device device, bool progress) {
  if (c.pde != "burgers1d")
    throw std::invalid_argument(fmt::format("datagen: PDE '{}' is not available; accepted: burgers1d", c.pde));
  GeneratedDatasets out;
  out.train_dir = c.out + "-train";
  out.test_dir = c.out + "-test";
  out.train = generate_split(c, "train", c.n_train, /*stream=*/101, device, progress);
  out.test = generate_split(c, "test", c.n_test, /*stream=*/202, device, progress);
  return out;
}

}  // namespace fourmi::data
