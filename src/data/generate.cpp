#include "fourmi/data/generate.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>

#include "fourmi/data/dataset.h"
#include "fourmi/data/grf.h"
#include "fourmi/data/pde_generator.h"
#include "fourmi/util/log.h"
#include "fourmi/util/progress.h"

namespace fourmi::data {
namespace {

constexpr std::uint64_t kTrainStream = 101, kTestStream = 202;

Manifest generate_split(const config::DatagenConfig& c, const PdeGenerator& gen, const std::string& out,
                        const std::string& split, int64_t count, std::uint64_t stream, torch::Device device,
                        bool progress, const nlohmann::json& extra) {
  std::string base = std::filesystem::path(out).filename().string();
  Manifest header;
  header.name = base + "-" + split;
  header.split = split;
  header.pde = c.pde;
  header.num_samples = count;
  header.x_shape = gen.x_shape();
  header.y_shape = gen.y_shape();
  header.generator = gen.params();
  header.generator["seed"] = c.seed;
  header.generator["split_stream"] = stream;
  header.generator.update(extra);
  DatasetWriter writer(out + "-" + split, header, c.shards, c.levels);
  util::ProgressBar bar(fmt::format("datagen {} {}", header.name, device.str()), count, progress);
  // Each split draws from its own stream of per-sample seeds.
  const std::uint64_t seed = sample_seed(c.seed, stream, 0);
  for (int64_t first = 0; first < count; first += c.batch) {
    int64_t k = std::min<int64_t>(c.batch, count - first);
    PdeBatch b = gen.solve(k, seed, first, device);
    writer.append(b.x, b.y);
    bar.update(first + k, b.note);
  }
  bar.finish();
  return writer.finish();
}

}  // namespace

std::string datagen_out(const config::DatagenConfig& c) { return c.out.empty() ? "data/" + c.pde : c.out; }

GeneratedDatasets generate_datasets(const config::DatagenConfig& c, torch::Device device, bool progress) {
  auto gen = make_pde_generator(c);
  const std::string out = datagen_out(c);
  nlohmann::json extra = nlohmann::json::object();
  if (c.check_refinement > 0) {
    const int64_t k = std::min(c.check_refinement, c.n_train);
    double diff = gen->refinement_difference(k, sample_seed(c.seed, kTrainStream, 0), device);
    util::info(
        "datagen {}: first {} training sample(s) re-solved on a {} times finer grid: relative L2 difference {:.3e}",
        c.pde, k, gen->refinement_factor(), diff);
    extra["refinement_check"] = {
        {"samples", k}, {"factor", gen->refinement_factor()}, {"relative_l2_difference", diff}};
  }
  GeneratedDatasets result;
  result.train_dir = out + "-train";
  result.test_dir = out + "-test";
  result.train = generate_split(c, *gen, out, "train", c.n_train, kTrainStream, device, progress, extra);
  result.test = generate_split(c, *gen, out, "test", c.n_test, kTestStream, device, progress, extra);
  return result;
}

}  // namespace fourmi::data
