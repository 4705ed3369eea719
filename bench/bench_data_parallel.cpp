// bench_data_parallel.cpp — weak-scaling step time of fourmi's data-parallel FNO training.
//
// Each rank trains the FNO-2D of a config on synthetic batches of `per_rank` samples (global
// batch = per_rank × ranks), timing whole steps (forward, backward with overlapped bucketed
// all-reduce, Adam) after warm-up, with the GPU synchronised at both ends. Rank 0 prints a table
// row per config and writes JSON (command, machine, date, per-config step times; the slowest
// rank's time is reported). With --timeline K, K more steps run back to back under the step
// profiler (no synchronisation between them), and each rank writes its timeline: every step's
// length on the compute stream, its waits for collectives, each collective's device time and
// place, and the sampled op times, for comparing where a step goes at 1 and N GPUs.
//   mpirun -np 4 fourmi-bench-dp --configs configs/fno2d-medium.yaml,configs/fno2d-large.yaml --json out.json
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "fourmi/cli/bench_common.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/config/config_loader.h"
#include "fourmi/profile/peaks.h"
#include "fourmi/profile/profiler.h"
#include "fourmi/train/trainer.h"
#include "fourmi/util/device.h"
#include "fourmi/util/fs.h"

using namespace fourmi;

namespace {

// `steps` steps back to back under `prof`, as training runs them (the parameters' all-gathers of
// one step overlap the next forward), the ranks lined up first; `prof` is finished on return.
void run_profiled_steps(runtime::RunContext& ctx, train::Trainer& trainer, const data::Batch& batch,
                        profile::Profiler& prof, int steps) {
  prof.plan_steps(steps);
  trainer.record_with(&prof);
  util::synchronize(ctx.device());
  ctx.world().barrier();
  for (int i = 0; i < steps; ++i) {
    prof.prepare_step();
    prof.begin_step(0.0);
    trainer.train_step(batch);
    prof.end_step();
  }
  util::synchronize(ctx.device());
  trainer.record_with(nullptr);
  prof.finish();
}

// This rank's timeline of `steps` profiled steps (sampled op times) as JSON in `dir`.
void write_timeline(runtime::RunContext& ctx, train::Trainer& trainer, const data::Batch& batch,
                    const config::Config& cfg, int steps, const std::string& dir) {
  profile::Profiler prof(ctx.device(), ctx.world().log(), cfg.run.tf32, /*op_samples=*/3);
  run_profiled_steps(ctx, trainer, batch, prof, steps);
  const int rank = ctx.launch().rank, ranks = ctx.world().size();
  nlohmann::json out = prof.summary();
  out["trace"] = prof.trace_events(rank);
  out["config"] = cfg.run.name;
  out["ranks"] = ranks;
  out["rank"] = rank;
  util::atomic_write_text(fmt::format("{}/timeline-{}-np{}-rank{}.json", dir, cfg.run.name, ranks, rank),
                          out.dump(1) + "\n");
  ctx.world().barrier();
}

// The step's roofline bound (profile/peaks.h) from `steps` profiled steps with every op timed.
double step_roofline_bound_ms(runtime::RunContext& ctx, train::Trainer& trainer, const data::Batch& batch,
                              const config::Config& cfg, const profile::Peaks& peaks, int steps) {
  profile::Profiler prof(ctx.device(), ctx.world().log(), cfg.run.tf32);
  run_profiled_steps(ctx, trainer, batch, prof, steps);
  return profile::roofline_bound_ms(prof.summary()["ops"], peaks);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fourmi data-parallel weak-scaling benchmark"};
  std::string configs, json_out;
  int warmup = 10, steps = 40, per_rank = 0, grid = 0;
  app.add_option("--configs", configs, "comma-separated config files")->required();
  app.add_option("--json", json_out, "write results here (rank 0)");
  app.add_option("--warmup", warmup, "untimed steps");
  app.add_option("--steps", steps, "timed steps");
  app.add_option("--per-rank", per_rank, "samples per rank (default: the config's train.batch_size)");
  app.add_option("--grid", grid, "grid points per dimension (default: 128 for 16 modes, 256 for 32)");
  std::vector<std::string> sets;
  app.add_option("--set", sets, "config overrides KEY=VALUE applied to every config (e.g. parallel.bucket_mb=50)");
  bool allreduce = false;
  app.add_flag("--allreduce", allreduce,
               "also sweep all-reduce bus bandwidth through fourmi's communicator (1 MB to 1 GB)");
  bool allgather = false;
  app.add_flag("--allgather", allgather,
               "also time in-place all-gathers over the communicator's gather buffer (4 to 64 MB; on the copy engines "
               "with parallel.copy_engine_gather=true)");
  bool side_stream = false;
  app.add_flag("--side-stream", side_stream,
               "the same as --set run.compute_stream=dedicated: a non-blocking CUDA stream instead of the legacy "
               "default stream");
  bool mix_kernel = false;
  app.add_flag("--mix-kernel", mix_kernel,
               "spectral mode mixing by fourmi's CUDA kernel (executes exactly the useful FLOPs) instead of cuBLAS");
  int timeline = 0;
  std::string timeline_dir = ".";
  app.add_option("--timeline", timeline, "profile this many more steps back to back and write each rank's timeline");
  app.add_option("--timeline-dir", timeline_dir, "where the timelines go: timeline-<config>-np<N>-rank<r>.json");
  std::string peaks_file;
  app.add_option("--peaks", peaks_file,
                 "a `fourmi bench peak` file: also profile 3 steps and report each config's roofline bound (ms)")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);

  nlohmann::json results = nlohmann::json::array();
  std::stringstream ss(configs);
  std::unique_ptr<runtime::RunContext> ctx;
  std::optional<profile::Peaks> peaks;  // read from --peaks once the first config has set up the device
  for (std::string path; std::getline(ss, path, ',');) {
    std::vector<std::string> overrides{"run.progress=false"};
    if (side_stream) overrides.push_back("run.compute_stream=dedicated");
    overrides.insert(overrides.end(), sets.begin(), sets.end());
    config::Config cfg = config::load_config_file(path, overrides);
    if (!ctx) ctx = std::make_unique<runtime::RunContext>(cfg);
    const int ranks = ctx->world().size();
    const int b = per_rank > 0 ? per_rank : cfg.train.batch_size;
    const int n = grid > 0 ? grid : 8 * cfg.model.modes[0];
    cfg.train.batch_size = b * ranks;
    torch::manual_seed(0);
    train::Trainer trainer(cfg, models::FNO(cfg.model), ctx->device(), ctx->world(), "/tmp",
                           runtime::reducer_options(ctx->plan()));
    if (mix_kernel) trainer.model()->set_mix_impl(models::MixImpl::kKernel);
    std::vector<int64_t> shape{b, cfg.model.in_channels};
    for (int d = 0; d < cfg.model.dim; ++d) shape.push_back(n);
    auto opts = torch::TensorOptions().device(ctx->device());
    data::Batch batch;
    batch.x = torch::randn(shape, opts);
    shape[1] = cfg.model.out_channels;
    batch.y = torch::randn(shape, opts);
    batch.weight = torch::ones({b}, opts);
    batch.local_count = b;
    batch.global_count = b * ranks;
    auto sync = [&] { util::synchronize(ctx->device()); };
    for (int i = 0; i < warmup; ++i) trainer.train_step(batch);
    sync();
    ctx->world().barrier();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) trainer.train_step(batch);
    sync();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
    if (timeline > 0) write_timeline(*ctx, trainer, batch, cfg, timeline, timeline_dir);
    torch::Tensor t = torch::tensor({ms}, torch::kFloat64);
    if (ctx->device().is_cuda() && ctx->world().backend() == "nccl") t = t.to(ctx->device());
    torch::Tensor tmax = t.clone(), tmin = t.clone();
    ctx->world().all_reduce(tmax, distributed::ReduceOp::kMax);
    ctx->world().all_reduce(tmin, distributed::ReduceOp::kMin);
    int64_t peak = cli::allocated_bytes(ctx->device()).peak;
    // Parameters in NCCL's memory (copy-engine gathers) are outside the allocator's statistics.
    const int64_t external = ctx->data().external_buffer_bytes();
    peak += external;
    // After the peak memory is read: the profiled steps run eagerly next to the captured graph's pool.
    if (!peaks_file.empty() && !peaks) {
      cfg.profile.peaks = peaks_file;
      peaks = profile::resolve_peaks(cfg, ctx->device());
    }
    const double bound_ms = peaks ? step_roofline_bound_ms(*ctx, trainer, batch, cfg, *peaks, 3) : 0.0;
    nlohmann::json r = {{"config", cfg.run.name},
                        {"ranks", ranks},
                        {"overrides", sets},
                        {"side_stream", side_stream},
                        {"per_rank_batch", b},
                        {"grid", n},
                        {"width", cfg.model.width},
                        {"modes", cfg.model.modes[0]},
                        {"step_ms", tmax.item<double>()},
                        {"step_ms_fastest_rank", tmin.item<double>()},
                        {"samples_per_s", 1e3 * b * ranks / tmax.item<double>()},
                        {"params", trainer.model()->parameter_count()},
                        {"peak_mem_bytes", peak},
                        {"nccl_buffer_bytes", external}};
    if (peaks) {
      r["roofline_bound_ms"] = bound_ms;
      r["roofline_bound_pct"] = 100.0 * bound_ms / tmax.item<double>();
    }
    if (ctx->launch().rank == 0) std::printf("%s\n", r.dump().c_str());
    results.push_back(r);
  }
  // nccl-tests style: 5 warm-up calls, the device synchronised and the ranks lined up, then the
  // mean of 20 timed calls with the device synchronised at the end.
  auto seconds_per_call = [&](const std::function<void()>& call) {
    for (int i = 0; i < 5; ++i) call();
    util::synchronize(ctx->device());
    ctx->world().barrier();
    const int iters = 20;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) call();
    util::synchronize(ctx->device());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
  };
  nlohmann::json sweep = nlohmann::json::array();
  if (allreduce && ctx && ctx->world().size() > 1) {
    // busbw = algbw * 2(n-1)/n, as nccl-tests reports it.
    const int ranks = ctx->world().size();
    for (int64_t mb : {1, 16, 64, 256, 1024}) {
      torch::Tensor buf = torch::ones({mb * (1 << 20) / 4}, torch::TensorOptions().device(ctx->device()));
      const double sec = seconds_per_call([&] { ctx->world().all_reduce(buf); });
      double algbw = static_cast<double>(buf.numel()) * 4 / sec / 1e9;
      nlohmann::json r = {{"bytes", buf.numel() * 4},
                          {"gpus", ranks},
                          {"time_us", sec * 1e6},
                          {"algbw_gbs", algbw},
                          {"busbw_gbs", ranks > 1 ? algbw * 2.0 * (ranks - 1) / ranks : algbw}};
      if (ctx->launch().rank == 0) std::printf("%s\n", r.dump().c_str());
      sweep.push_back(r);
    }
  }
  nlohmann::json gathers = nlohmann::json::array();
  if (allgather && ctx && ctx->world().size() > 1) {
    // As the parameters' all-gathers run: in place, over memory from gather_buffer(). busbw = algbw * (n-1)/n.
    const int ranks = ctx->world().size();
    for (int64_t mb : {4, 16, 64}) {
      torch::Tensor buf = ctx->world().gather_buffer(mb * (1 << 20) / 4, torch::TensorOptions().device(ctx->device()));
      auto gather = [&] { ctx->world().all_gather_in_place_async(buf)->wait(); };
      const double sec = seconds_per_call(gather);
      double algbw = static_cast<double>(buf.numel()) * 4 / sec / 1e9;
      // The host's time in one all-gather call while the stream is still busy (milliseconds of
      // matrix products queued ahead): an asynchronous launch returns in microseconds; one that
      // waits for the device shows the queued work's duration.
      torch::Tensor a = torch::randn({2048, 2048}, torch::TensorOptions().device(ctx->device()));
      util::synchronize(ctx->device());
      for (int i = 0; i < 40; ++i) a = torch::mm(a, a).div_(45.0);
      auto h0 = std::chrono::steady_clock::now();
      gather();
      double host_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - h0).count();
      util::synchronize(ctx->device());
      nlohmann::json r = {{"bytes", buf.numel() * 4},
                          {"gpus", ranks},
                          {"time_us", sec * 1e6},
                          {"algbw_gbs", algbw},
                          {"busbw_gbs", algbw * (ranks - 1) / ranks},
                          {"host_call_us_busy_stream", host_us},
                          {"overrides", sets}};
      if (ctx->launch().rank == 0) std::printf("%s\n", r.dump().c_str());
      gathers.push_back(r);
    }
  }
  if (ctx && ctx->launch().rank == 0 && !json_out.empty()) {
    char date[64];
    std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    nlohmann::json out = {{"benchmark", "data_parallel_weak_scaling"},
                          {"command", command},
                          {"date", date},
                          {"device", ctx->device().is_cuda() ? "cuda" : "cpu"},
                          {"backend", ctx->world().backend()},
                          {"results", results},
                          {"allreduce", sweep},
                          {"allgather", gathers}};
    util::atomic_write_text(json_out, out.dump(1) + "\n");
  }
  return 0;
}
