// bench_mode_parallel.cpp — memory and step time of mode-parallel FNO training.
//
// Every rank builds the config's FNO with parallel.modes = M (data = ranks / M), trains on
// synthetic batches of `per_replica` samples, and reports: the parameter count, the bytes that the
// spectral weights, their gradients and Adam moments occupy on this rank (the allocator's blocks of
// those tensors, 512-byte rounded), the allocator's current bytes after a step (all model state),
// the peak allocated bytes, and the median step time. Rank 0 adds a run to the JSON file.
//   mpirun -np 4 fourmi-bench-mp -c configs/fno3d.yaml --set parallel.modes=4 --json bench/results/mode_parallel.json
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <torch/optim/adam.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "fourmi/cli/bench_common.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/config/config_loader.h"
#include "fourmi/train/trainer.h"
#include "fourmi/util/device.h"
#include "fourmi/util/host.h"
#include "fourmi/util/log.h"

using namespace fourmi;

namespace {
int64_t block_bytes(const torch::Tensor& t) {
  if (!t.defined()) return 0;
  const int64_t n = static_cast<int64_t>(t.storage().nbytes());
  return (n + 511) / 512 * 512;
}
}  // namespace

int run(int argc, char** argv);

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "fourmi-bench-mp: %s\n", e.what_without_backtrace());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fourmi-bench-mp: %s\n", e.what());
  }
  return 1;
}

int run(int argc, char** argv) {
  CLI::App app{"fourmi mode-parallel benchmark: spectral state per rank, peak memory, step time"};
  std::string config_path, json_out, label;
  std::vector<std::string> sets;
  int warmup = 3, steps = 10, per_replica = 2, grid = 64;
  app.add_option("-c,--config", config_path, "config file")->required();
  app.add_option("--set", sets, "config override (repeatable)")->take_all();
  app.add_option("--json", json_out, "result file to add the run to (rank 0)");
  app.add_option("--label", label, "model name in the results");
  app.add_option("--warmup", warmup, "untimed steps");
  app.add_option("--steps", steps, "timed steps");
  app.add_option("--per-replica", per_replica, "samples per model replica per step");
  app.add_option("--grid", grid, "grid points per dimension");
  CLI11_PARSE(app, argc, argv);
  util::set_command_line(argc, argv);
  sets.push_back("run.progress=false");
  config::Config cfg = config::load_config_file(config_path, sets);
  runtime::RunContext ctx(cfg);
  const int d = ctx.data_ranks(), m = ctx.mode_ranks();
  cfg.train.batch_size = per_replica * d;
  const torch::Device dev = ctx.device();
  torch::Tensor warm_allocator = torch::empty({1}, torch::TensorOptions().device(dev));  // the allocator starts lazily
  const cli::AllocatedBytes before = cli::allocated_bytes(dev);
  torch::manual_seed(0);
  train::Trainer trainer(cfg, models::FNO(cfg.model, models::ModeGroup{ctx.modes()}), dev, ctx.data(), "/tmp",
                         runtime::reducer_options(ctx.plan()));
  std::vector<int64_t> shape{per_replica, cfg.model.in_channels};
  for (int k = 0; k < cfg.model.dim; ++k) shape.push_back(grid);
  data::Batch batch;
  batch.x = torch::randn(shape, torch::TensorOptions().device(dev));
  shape[1] = cfg.model.out_channels;
  batch.y = torch::randn(shape, torch::TensorOptions().device(dev));
  batch.weight = torch::ones({per_replica}, torch::TensorOptions().device(dev));
  batch.local_count = per_replica;
  batch.global_count = per_replica * d;
  cli::reset_peak_bytes(dev);
  for (int i = 0; i < warmup; ++i) trainer.train_step(batch);
  util::synchronize(dev);
  std::vector<double> ms;
  for (int i = 0; i < steps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    trainer.train_step(batch);
    util::synchronize(dev);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const cli::AllocatedBytes after = cli::allocated_bytes(dev);
  // Spectral state on this rank: weights, gradients and both Adam moments of the partitioned parameters.
  int64_t spectral = 0, spectral_params_global = 0, params_global = 0;
  auto named = trainer.model()->named_parameters();
  for (const auto& [name, block] : trainer.model()->mode_partitioned()) {
    torch::Tensor p = named[name];
    spectral += block_bytes(p) + block_bytes(p.grad());
    auto it = trainer.optimizer().state().find(p.unsafeGetTensorImpl());
    if (it != trainer.optimizer().state().end()) {
      auto& st = static_cast<torch::optim::AdamParamState&>(*it->second);
      spectral += block_bytes(st.exp_avg()) + block_bytes(st.exp_avg_sq());
    }
    spectral_params_global += block.total * p.size(1) * p.size(2) * 2;
  }
  params_global = trainer.model()->parameter_count();
  for (const auto& [name, block] : trainer.model()->mode_partitioned())
    params_global += (block.total - block.count) * named[name][0].numel();
  // The slowest rank and the largest memory set the figures.
  torch::Tensor v = torch::tensor({ms[ms.size() / 2], static_cast<double>(spectral), static_cast<double>(after.peak),
                                   static_cast<double>(after.current - before.current)},
                                  torch::kFloat64)
                        .to(dev);
  ctx.world().all_reduce(v, distributed::ReduceOp::kMax);
  v = v.cpu();
  const double step_ms = v[0].item<double>();
  util::info(
      "{} M={} D={}: {:.3f} G parameters ({:.3f} G spectral), spectral state {:.2f} GB/rank, model state {:.2f} "
      "GB/rank, "
      "peak {:.2f} GB/rank, step {:.1f} ms",
      label.empty() ? config_path : label, m, d, params_global / 1e9, spectral_params_global / 1e9,
      v[1].item<double>() / 1e9, v[3].item<double>() / 1e9, v[2].item<double>() / 1e9, step_ms);
  if (ctx.world().rank() == 0 && !json_out.empty()) {
    nlohmann::json run = {{"model", label.empty() ? config_path : label},
                          {"modes_ranks", m},
                          {"data_ranks", d},
                          {"params", params_global},
                          {"spectral_params", spectral_params_global},
                          {"spectral_state_bytes_per_rank", static_cast<int64_t>(v[1].item<double>())},
                          {"model_state_bytes_per_rank_allocator", static_cast<int64_t>(v[3].item<double>())},
                          {"peak_mem_bytes_per_rank", static_cast<int64_t>(v[2].item<double>())},
                          {"step_ms", step_ms},
                          {"grid", grid},
                          {"per_replica_batch", per_replica},
                          {"command", util::command_line()}};
    cli::merge_bench_results(json_out, dev, nlohmann::json::array({run}), {"model", "modes_ranks", "data_ranks"});
  }
  return 0;
}
