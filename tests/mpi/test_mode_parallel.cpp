// Mode parallelism under mpirun (2 and 4 ranks; at 4 also the 2 x 2 data x modes grid): outputs
// and gradients equal the single-rank FNO's for 1D, 2D and 3D with mode counts that do not divide
// evenly, training steps give the single-rank parameters, and checkpoints reshard across M.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "../test_util.h"
#include "fourmi/distributed/grad_reducer.h"
#include "fourmi/distributed/mpi_communicator.h"
#include "fourmi/models/fno.h"
#include "fourmi/train/checkpoint.h"
#include "fourmi/train/trainer.h"

using namespace fourmi;

namespace {

std::unique_ptr<distributed::Communicator>& world() {
  static auto w = distributed::make_mpi_world_communicator(120.0);
  return w;
}

// The process grid of run_context.cpp: rank r is mode rank r % M of replica r / M.
struct Grid {
  std::unique_ptr<distributed::Communicator> modes, data;
  int m = 1;
};
Grid make_grid(int m) {
  auto& w = *world();
  Grid g;
  g.m = m;
  g.modes = w.split(w.rank() / m, w.rank() % m, "modes");
  g.data = w.split(w.rank() % m, w.rank() / m, "data");
  return g;
}

config::ModelConfig model_config(int dim) {
  config::ModelConfig c;
  c.dim = dim;
  c.width = 4;
  c.layers = 2;
  c.projection_width = 6;
  c.modes = dim == 1   ? std::vector<int>{5}
            : dim == 2 ? std::vector<int>{3, 3}
                       : std::vector<int>{2, 3, 2};  // T = 5, 18, 48
  return c;
}
std::vector<int64_t> input_shape(int dim, int64_t batch) {
  if (dim == 1) return {batch, 1, 16};
  if (dim == 2) return {batch, 1, 8, 8};
  return {batch, 1, 6, 8, 6};
}

double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).norm() / b.norm().clamp_min(1e-12)).item<double>();
}

// This rank's rows of a single-rank parameter, for the partitioned ones.
torch::Tensor own_rows(const torch::Tensor& full, const std::string& name, const models::FNOImpl& par) {
  for (const auto& [n, b] : par.mode_partitioned())
    if (n == name) return full.narrow(0, b.start, b.count);
  return full;
}

void expect_matches_single_rank(int dim, int m) {
  Grid g = make_grid(m);
  auto cfg = model_config(dim);
  torch::manual_seed(11);
  models::FNO single(cfg);
  torch::manual_seed(11);
  models::FNO par(cfg, models::ModeGroup{g.modes.get()});
  torch::manual_seed(3);  // the same input on every rank of a replica
  torch::Tensor x = torch::randn(input_shape(dim, 3));
  torch::Tensor ys = single->forward(x), yp = par->forward(x);
  EXPECT_LT(rel(yp, ys), 1e-5) << "forward, dim " << dim << ", M " << m;
  (ys * ys).sum().backward();
  (yp * yp).sum().backward();
  auto ps = single->named_parameters(), pp = par->named_parameters();
  ASSERT_EQ(ps.size(), pp.size());
  for (const auto& item : pp) {
    const std::string& name = item.key();
    EXPECT_TRUE(torch::equal(item.value(), own_rows(ps[name], name, *par))) << "initial " << name;
    EXPECT_LT(rel(item.value().grad(), own_rows(ps[name].grad(), name, *par)), 1e-5)
        << "gradient of " << name << ", dim " << dim;
  }
  EXPECT_LE(par->parameter_count(), single->parameter_count());
}

}  // namespace

TEST(ModeParallel, BlocksAreBalancedAndCoverEveryMode) {
  for (int64_t total : {5, 18, 48, 7}) {
    for (int ranks : {1, 2, 3, 4}) {
      int64_t next = 0, lo = total, hi = 0;
      for (int r = 0; r < ranks; ++r) {
        auto b = models::mode_block(total, r, ranks);
        EXPECT_EQ(b.start, next);
        next += b.count;
        lo = std::min(lo, b.count), hi = std::max(hi, b.count);
        EXPECT_LE(b.count, b.padded);
      }
      EXPECT_EQ(next, total);
      EXPECT_LE(hi - lo, 1);
    }
  }
}

TEST(ModeParallel, ForwardAndGradientsMatchSingleRank) {
  const int n = world()->size();
  for (int dim : {1, 2, 3}) {
    expect_matches_single_rank(dim, n);
    if (n == 4) expect_matches_single_rank(dim, 2);  // 2 replicas x 2 mode ranks
  }
}

TEST(ModeParallel, TrainingAndCheckpointsMatchSingleRankAcrossM) {
  auto& w = *world();
  const int n = w.size();
  for (int m : {n, 2}) {
    if (m > n || n % m != 0 || m < 2) continue;
    Grid g = make_grid(m);
    const int d = n / m;
    auto cfg = model_config(2);
    config::TrainConfig tc;
    tc.lr = 1e-2;
    torch::manual_seed(5);
    models::FNO single(cfg);
    auto opt_s = train::make_optimizer(tc, single->parameters());
    torch::manual_seed(5);
    models::FNO par(cfg, models::ModeGroup{g.modes.get()});
    auto opt_p = train::make_optimizer(tc, par->parameters());
    std::unique_ptr<distributed::GradReducer> reducer;
    if (d > 1)
      reducer = std::make_unique<distributed::GradReducer>(par->parameters(), *g.data, distributed::ReducerOptions{});
    const int64_t batch = 4;  // global; each replica takes batch / d rows
    for (int step = 0; step < 3; ++step) {
      torch::manual_seed(100 + step);
      torch::Tensor x = torch::randn(input_shape(2, batch)), y = torch::randn(input_shape(2, batch));
      for (auto& p : single->parameters()) p.mutable_grad().reset();
      (single->forward(x) - y).pow(2).mean().backward();
      opt_s->step();
      for (auto& p : par->parameters()) p.mutable_grad().reset();
      const int64_t rows = batch / d, first = g.data->rank() * rows;
      if (reducer) reducer->prepare(true);
      // Mean over the global batch: each replica's share of it, summed by the data all-reduce.
      ((par->forward(x.narrow(0, first, rows)) - y.narrow(0, first, rows)).pow(2).sum() /
       static_cast<double>(y.numel()))
          .backward();
      if (reducer) reducer->finish();
      opt_p->step();
    }
    auto ps = single->named_parameters();
    for (const auto& item : par->named_parameters())
      EXPECT_LT(rel(item.value(), own_rows(ps[item.key()], item.key(), *par)), 1e-5)
          << item.key() << " after 3 steps, M " << m;

    // Checkpoint written with M, read back with M' = 1 and with M (and the M = 1 one read with M).
    std::string dir;
    {
      torch::Tensor id = torch::randint(1, 1 << 30, {1}, torch::kInt64);
      w.broadcast(id, 0);
      dir = (std::filesystem::temp_directory_path() / ("fourmi-ckpt-" + std::to_string(id.item<int64_t>()))).string();
    }
    if (g.data->rank() == 0) train::save_checkpoint(dir + "/m", *par, *opt_p, {3, "x: 1\n"});
    w.barrier();
    torch::manual_seed(4);
    torch::Tensor x = torch::randn(input_shape(2, 2));
    torch::Tensor expect = par->forward(x).detach();
    torch::manual_seed(99);  // a different init that the load must overwrite
    models::FNO one(cfg);
    auto opt_one = train::make_optimizer(tc, one->parameters());
    train::load_checkpoint(dir + "/m/ckpt-000003.safetensors", *one, opt_one.get());
    EXPECT_TRUE(torch::allclose(one->forward(x), expect, 1e-6, 1e-6)) << "M " << m << " -> 1";
    for (const auto& item : one->named_parameters())
      EXPECT_LT(rel(item.value(), ps[item.key()]), 1e-5) << "resharded " << item.key();
    if (w.rank() == 0) train::save_checkpoint(dir + "/one", *one, *opt_one, {3, "x: 1\n"});
    w.barrier();
    torch::manual_seed(98);
    models::FNO back(cfg, models::ModeGroup{g.modes.get()});
    auto opt_back = train::make_optimizer(tc, back->parameters());
    train::load_checkpoint(dir + "/one/ckpt-000003.safetensors", *back, opt_back.get());
    EXPECT_TRUE(torch::allclose(back->forward(x), expect, 1e-6, 1e-6)) << "1 -> M " << m;
    // Adam state travels too: one more identical step keeps the two in agreement.
    for (auto* model : {&one, &back}) {
      torch::manual_seed(7);
      torch::Tensor xs = torch::randn(input_shape(2, 2));
      for (auto& p : (*model)->parameters()) p.mutable_grad().reset();
      (*model)->forward(xs).pow(2).mean().backward();
      (model == &one ? opt_one : opt_back)->step();
    }
    auto po = one->named_parameters();
    for (const auto& item : back->named_parameters())
      EXPECT_LT(rel(item.value(), own_rows(po[item.key()], item.key(), *back)), 1e-5)
          << "after a step from the resharded state: " << item.key();
    w.barrier();
    if (w.rank() == 0) fourmi::testing::TempDir::remove_tree(dir);
  }
}

TEST(ModeParallel, CheckpointWrittenWithFourModeRanksLoadsWithTwo) {
  auto& w = *world();
  if (w.size() != 4) GTEST_SKIP() << "needs 4 ranks";
  Grid g4 = make_grid(4), g2 = make_grid(2);
  auto cfg = model_config(2);
  torch::manual_seed(21);
  models::FNO four(cfg, models::ModeGroup{g4.modes.get()});
  auto opt4 = train::make_optimizer(config::TrainConfig{}, four->parameters());
  torch::Tensor id = torch::randint(1, 1 << 30, {1}, torch::kInt64);
  w.broadcast(id, 0);
  std::string dir =
      (std::filesystem::temp_directory_path() / ("fourmi-ckpt4-" + std::to_string(id.item<int64_t>()))).string();
  train::save_checkpoint(dir, *four, *opt4, {1, ""});
  w.barrier();
  EXPECT_TRUE(std::filesystem::exists(dir + "/ckpt-000001.modes-003-of-004.safetensors"));
  torch::manual_seed(22);
  models::FNO two(cfg, models::ModeGroup{g2.modes.get()});
  train::load_checkpoint(dir + "/ckpt-000001.safetensors", *two, nullptr);
  torch::manual_seed(4);
  torch::Tensor x = torch::randn(input_shape(2, 2));
  EXPECT_TRUE(torch::allclose(two->forward(x), four->forward(x), 1e-6, 1e-6));
  w.barrier();
  if (w.rank() == 0) fourmi::testing::TempDir::remove_tree(dir);
}
