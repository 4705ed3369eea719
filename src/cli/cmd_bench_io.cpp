// cmd_bench_io.cpp — `fourmi bench io`: the reader's sample rate per rank, cold and warm page
// cache, against the rate at which one training step of the configured model consumes samples.
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "fourmi/cli/bench_common.h"
#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/data/loader.h"
#include "fourmi/data/sampler.h"
#include "fourmi/train/trainer.h"
#include "fourmi/util/device.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {
namespace {

// Writes back and drops the dataset's pages from the page cache (no root needed for clean pages).
void evict_from_page_cache(const data::Dataset& ds) {
  for (const auto& s : ds.manifest().shards) {
    std::string path = (std::filesystem::path(ds.dir()) / s.file).string();
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open to evict from the page cache", path));
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

struct ReadRate {
  double samples_per_s = 0, bytes_per_s = 0, seconds = 0;
  int64_t samples = 0;
};

// One epoch of this rank's samples through the prefetching loader, copies to the device included.
// The first epoch on a Dataset also opens (and checksums) the shards this rank touches.
ReadRate read_epoch(data::Dataset& ds, const config::Config& cfg, int rank, int ranks, torch::Device device,
                    int64_t epoch) {
  data::DataLoader loader(ds,
                          data::Sampler(ds.size(), cfg.train.batch_size, rank, ranks, cfg.run.seed, cfg.data.shuffle),
                          device, cfg.data.prefetch, cfg.data.readahead);
  auto t0 = std::chrono::steady_clock::now();
  loader.start_epoch(epoch);
  ReadRate r;
  double bytes = 0;
  while (auto b = loader.next()) {
    r.samples += b->local_count;
    bytes += static_cast<double>(b->local_count) * static_cast<double>((b->x[0].numel() + b->y[0].numel()) * 4);
  }
  util::synchronize(device);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.samples_per_s = r.samples / r.seconds;
  r.bytes_per_s = bytes / r.seconds;
  return r;
}

// Samples per second one rank consumes in training steps of the configured model (best of the timed steps).
double train_rate(data::Dataset& ds, const config::Config& cfg, runtime::RunContext& ctx, const std::string& run_dir,
                  int steps) {
  check_data_fits_model(ds, cfg.model);
  data::Sampler sampler(ds.size(), cfg.train.batch_size, ctx.data().rank(), ctx.data().size(), cfg.run.seed, false);
  data::DataLoader loader(ds, sampler, ctx.device(), 1);
  loader.start_epoch(0);
  data::Batch batch = *loader.next();
  train::Trainer trainer(cfg, build_model(cfg, ctx.modes()), ctx.device(), ctx.data(), run_dir,
                         runtime::reducer_options(ctx.plan()));
  for (int i = 0; i < 3; ++i) trainer.train_step(batch);
  double best = 1e30;
  for (int i = 0; i < steps; ++i) {
    util::synchronize(ctx.device());
    auto t0 = std::chrono::steady_clock::now();
    trainer.train_step(batch);
    util::synchronize(ctx.device());
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return static_cast<double>(sampler.local_batch()) / best;
}

}  // namespace

int run_bench_io(const CommonOptions& opts, const std::string& out_path, int train_steps) {
  config::Config cfg = load_config(opts);
  cfg.run.name = "bench-io";
  runtime::RunContext ctx(cfg);
  auto& world = ctx.world();
  const std::string run_dir = ctx.make_run_dir(cfg);
  // Opening a dataset reads its manifest only; shards are opened (and checksummed) on first read.
  data::Dataset ds(cfg.data.train, cfg.data.sub, cfg.data.verify_checksums, cfg.data.n_train, cfg.data.stored_levels);
  const int rank = ctx.data().rank(), ranks = ctx.data().size();
  const int64_t per_rank = (cfg.train.batch_size + ranks - 1) / ranks;
  evict_from_page_cache(ds);
  world.barrier();
  // Cold: the first epoch after the pages were dropped (shard opening and checksums included).
  // Warm: later epochs, as in training (pages cached, shards open); the best of three.
  ReadRate cold = read_epoch(ds, cfg, rank, ranks, ctx.device(), 0);
  world.barrier();
  ReadRate warm;
  for (int64_t e = 1; e <= 3; ++e) {
    ReadRate r = read_epoch(ds, cfg, rank, ranks, ctx.device(), e);
    if (r.samples_per_s > warm.samples_per_s) warm = r;
  }
  world.barrier();
  const double train = train_rate(ds, cfg, ctx, run_dir, train_steps);
  // The slowest rank bounds the job: gather every rank's figures and report the minimum rate.
  // Bytes the reader takes from the files per sample: both fields at the stored resolution read
  // (the full one, or the stored level chosen for data.sub).
  int64_t stored_bytes = 0;
  for (const auto* shape : {&ds.manifest().x_shape, &ds.manifest().y_shape}) {
    int64_t n = 4;
    for (auto d : *shape) n *= d;
    stored_bytes += n;
  }
  torch::Tensor mine = torch::tensor(
      {cold.samples_per_s, cold.bytes_per_s, warm.samples_per_s, warm.bytes_per_s, train}, torch::kFloat64);
  torch::Tensor lo = mine.to(ctx.device());  // collectives run on the backend's device
  world.all_reduce(lo, distributed::ReduceOp::kMin);
  lo = lo.to(torch::kCPU);
  const auto l = lo.accessor<double, 1>();
  util::info("bench io {}: {} rank(s), {} samples of x [{}] y [{}] (sub {}, read from {}), {} per rank per step",
             cfg.data.train, world.size(), ds.size(), fmt::join(ds.x_shape(), ","), fmt::join(ds.y_shape(), ","),
             cfg.data.sub,
             ds.stored_sub() == 1 ? std::string("the full resolution")
                                  : fmt::format("the stored level of sub {}", ds.stored_sub()),
             per_rank);
  nlohmann::json runs = nlohmann::json::array();
  for (int c = 0; c < 2; ++c) {
    const char* cache = c == 0 ? "cold" : "warm";
    double rate = l[2 * c], gbs = l[2 * c + 1] / 1e9;
    util::info(
        "  {:4s} cache: reader {:10.1f} samples/s/rank ({:.3f} GB/s), training step consumes {:9.1f} samples/s/rank: "
        "ratio {:.1f}",
        cache, rate, gbs, l[4], rate / l[4]);
    runs.push_back({{"dataset", cfg.data.train},
                    {"ranks", world.size()},
                    {"cache", cache},
                    {"reader_samples_per_s", rate},
                    {"reader_gb_per_s", gbs},
                    {"file_gb_per_s", rate * static_cast<double>(stored_bytes) / 1e9},
                    {"train_samples_per_s", l[4]},
                    {"ratio", rate / l[4]},
                    {"sub", cfg.data.sub},
                    {"stored_sub", ds.stored_sub()},
                    {"batch_per_rank", per_rank}});
  }
  if (world.rank() == 0 && !out_path.empty())
    merge_bench_results(out_path, ctx.device(), runs, {"dataset", "ranks", "cache", "stored_sub"});
  return 0;
}

}  // namespace fourmi::cli
