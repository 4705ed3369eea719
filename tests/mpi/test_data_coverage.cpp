// Sharded reading under mpirun (run at 1, 2, 3 and 4 ranks): every sample exactly once per
// epoch across ranks, the same step count on every rank, global counts that add up, and the
// same order when an epoch is replayed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "../dataset_util.h"
#include "../test_util.h"
#include "fourmi/data/dataset.h"
#include "fourmi/data/loader.h"
#include "fourmi/data/sampler.h"
#include "fourmi/distributed/mpi_communicator.h"

using namespace fourmi;

namespace {

std::unique_ptr<distributed::Communicator>& world() {
  static auto w = distributed::make_mpi_world_communicator(120.0);
  return w;
}

// Rank 0 writes a dataset whose sample i holds the value i everywhere; all ranks get its path.
std::string write_indexed_dataset(distributed::Communicator& c, int64_t n, int shards) {
  torch::Tensor id = torch::randint(1, 1 << 30, {1}, torch::kInt64);
  c.broadcast(id, 0);
  std::string dir =
      (std::filesystem::temp_directory_path() / ("fourmi-cover-" + std::to_string(id.item<int64_t>()))).string();
  if (c.rank() == 0) {
    fourmi::testing::write_indexed_dataset(dir, "cover-train", n, shards, {1, 6}, {2, 6});
  }
  torch::Tensor done = torch::ones({1});
  c.all_reduce(done, distributed::ReduceOp::kSum);  // the dataset exists before anyone opens it
  return dir;
}

struct EpochRecord {
  torch::Tensor counts;        // [n]: how often each sample was read on this rank
  std::vector<int64_t> order;  // sample ids in reading order
  int64_t steps = 0;
};

EpochRecord read_epoch(data::DataLoader& loader, int64_t epoch, int64_t n, distributed::Communicator& c) {
  EpochRecord rec{torch::zeros({n}, torch::kInt64), {}, 0};
  loader.start_epoch(epoch);
  while (auto b = loader.next()) {
    ++rec.steps;
    int64_t real = 0;
    for (int64_t i = 0; i < b->x.size(0); ++i) {
      if (b->weight[i].item<float>() == 0.f) continue;
      int64_t id = static_cast<int64_t>(b->x[i][0][0].item<float>());
      EXPECT_FLOAT_EQ(b->y[i][1][5].item<float>(), -static_cast<float>(id) - 1);
      rec.counts[id] += 1;
      rec.order.push_back(id);
      ++real;
    }
    EXPECT_EQ(real, b->local_count);
    torch::Tensor sum = torch::tensor({real}, torch::kInt64);
    c.all_reduce(sum, distributed::ReduceOp::kSum);  // every rank calls this once per step
    EXPECT_EQ(sum.item<int64_t>(), b->global_count) << "epoch " << epoch << " step " << b->step;
  }
  return rec;
}

}  // namespace

TEST(DataCoverage, EverySampleExactlyOncePerEpochOnAnyRankCount) {
  auto& c = *world();
  for (auto [n, batch, shards] :
       std::vector<std::tuple<int64_t, int64_t, int>>{{13, 5, 3}, {12, 4, 2}, {7, 7, 1}, {10, 8, 4}}) {
    if (batch < c.size()) continue;  // the global batch must cover every rank
    std::string dir = write_indexed_dataset(c, n, shards);
    data::Dataset ds(dir, 1, true);
    data::DataLoader loader(ds, data::Sampler(n, batch, c.rank(), c.size(), 42, true), torch::kCPU, 2);
    std::vector<int64_t> first_order;
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      EpochRecord rec = read_epoch(loader, epoch, n, c);
      torch::Tensor total = rec.counts.clone();
      c.all_reduce(total, distributed::ReduceOp::kSum);
      EXPECT_TRUE(torch::all(total == 1).item<bool>())
          << "n=" << n << " batch=" << batch << " epoch " << epoch << ": " << total;
      torch::Tensor steps = torch::tensor({rec.steps}, torch::kInt64), lo = steps.clone();
      c.all_reduce(steps, distributed::ReduceOp::kMax);
      c.all_reduce(lo, distributed::ReduceOp::kMin);
      EXPECT_EQ(steps.item<int64_t>(), lo.item<int64_t>()) << "ranks took different step counts";
      EXPECT_EQ(rec.steps, (n + batch - 1) / batch);
      if (epoch == 0) first_order = rec.order;
      if (epoch == 1 && c.size() == 1) EXPECT_NE(rec.order, first_order) << "epochs must reshuffle";
    }
    EXPECT_EQ(read_epoch(loader, 0, n, c).order, first_order) << "epoch 0 replayed in a different order";
    c.barrier();
    if (c.rank() == 0) fourmi::testing::TempDir::remove_tree(dir);
  }
}
