// Data parallelism: N ranks with global batch B end with the parameters of 1 rank with batch B
// (1e-5 relative), bitwise identical across ranks; uneven last batches and micro-steps included.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "../test_util.h"
#include "fourmi/config/config_loader.h"
#include "fourmi/data/generate.h"
#include "fourmi/dist/grad_reducer.h"
#include "fourmi/dist/mpi_communicator.h"
#include "fourmi/train/trainer.h"

using namespace fourmi;

namespace {

std::unique_ptr<dist::Communicator>& world() {
  static auto w = dist::make_mpi_world_communicator(120.0);
  return w;
}

// A directory name every rank agrees on (rank 0 draws, broadcast).
std::string shared_tmp(dist::Communicator& c) {
  torch::Tensor id = torch::randint(1, 1 << 30, {1}, torch::kInt64);
  c.broadcast(id, 0);
  return (std::filesystem::temp_directory_path() / ("fourmi-mpi-" + std::to_string(id.item<int64_t>()))).string();
}

config::Config tiny(const std::string& root) {
  config::Config c = config::load_config_text(config::embedded_default_config(), "embedded");
  c.datagen.out = root + "/burgers";
  c.datagen.n_train = 22;  // 22 = 2 full global batches of 8 + one of 6: uneven on 4 ranks
  c.datagen.n_test = 6;
  c.datagen.shards = 3;
  c.datagen.burgers1d.resolution = 128;
  c.datagen.burgers1d.viscosity = 0.05;
  c.data.train = root + "/burgers-train";
  c.data.test = root + "/burgers-test";
  c.data.sub = 2;
  c.model.width = 8;
  c.model.modes = {6};
  c.model.layers = 2;
  c.model.projection_width = 16;
  c.train.epochs = 2;
  c.train.batch_size = 8;
  c.train.eval_every = 2;
  c.train.checkpoint_every = 100;
  c.run.progress = false;
  return c;
}

std::vector<torch::Tensor> train_params(const config::Config& cfg, dist::Communicator& comm, const std::string& run_dir) {
  data::Dataset train(cfg.data.train, cfg.data.sub, true), test(cfg.data.test, cfg.data.sub, true);
  torch::manual_seed(comm.rank() == 0 ? 0 : 1000 + comm.rank());  // ranks start different: the broadcast must fix it
  train::Trainer trainer(cfg, models::FNO(cfg.model), torch::kCPU, comm, run_dir);
  trainer.fit(train, test, false);
  std::vector<torch::Tensor> out;
  for (auto& p : trainer.model()->parameters()) out.push_back(p.detach().clone());
  return out;
}

void expect_same_as_single_rank(config::Config cfg) {
  auto& c = *world();
  std::string root = shared_tmp(c);
  cfg.datagen.out = root + "/burgers";
  cfg.data.train = root + "/burgers-train";
  cfg.data.test = root + "/burgers-test";
  if (c.rank() == 0) data::generate_datasets(cfg.datagen, torch::kCPU, false);
  c.barrier();
  auto distributed = train_params(cfg, c, root + "/run-" + std::to_string(c.rank()));
  auto local = dist::make_local_communicator();
  auto reference = train_params(cfg, *local, root + "/ref-" + std::to_string(c.rank()));
  double worst = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    double rel = ((distributed[i] - reference[i]).norm() / reference[i].norm().clamp_min(1e-12)).item<double>();
    worst = std::max(worst, rel);
  }
  EXPECT_LT(worst, 1e-5) << "worst relative difference to single-rank training";
  // Bitwise identical across ranks: gather every rank's flat parameters and compare to rank 0's.
  torch::Tensor flat = torch::cat([&] {
    std::vector<torch::Tensor> v;
    for (auto& p : distributed) v.push_back(p.reshape(-1));
    return v;
  }());
  torch::Tensor all = c.all_gather(flat.unsqueeze(0));
  for (int r = 1; r < c.size(); ++r) EXPECT_TRUE(torch::equal(all[r], all[0])) << "rank " << r << " differs from rank 0";
  c.barrier();
  if (c.rank() == 0) fourmi::testing::TempDir::remove_tree(root);
}

}  // namespace

TEST(DataParallel, MatchesSingleRankTraining) { expect_same_as_single_rank(tiny("")); }

TEST(DataParallel, MatchesWithSmallBucketsAndMicroSteps) {
  auto cfg = tiny("");
  cfg.parallel.bucket_mb = 0.001;  // one parameter per bucket: many overlapped all-reduces
  cfg.train.grad_accum = 2;
  expect_same_as_single_rank(cfg);
}

TEST(DataParallel, MatchesWithAnUpdatePerBucket) {
  auto cfg = tiny("");
  cfg.parallel.bucket_mb = 0.001;          // several buckets, each updated once reduced
  cfg.parallel.update_per_bucket = true;
  expect_same_as_single_rank(cfg);
}

TEST(GradReducer, BucketsInReverseOrderAndBroadcast) {
  auto& c = *world();
  torch::manual_seed(c.rank());
  std::vector<torch::Tensor> params{torch::randn({1000}).requires_grad_(), torch::randn({10}).requires_grad_(),
                                    torch::randn({3000}).requires_grad_()};
  dist::GradReducer reducer(params, c, {/*bucket_bytes=*/3000 * 4, false});
  EXPECT_EQ(reducer.num_buckets(), 2u);  // reverse order: [p2 (12 KB)], then p1 and p0 (4 KB) fit the next
  reducer.broadcast_parameters(0);
  torch::Tensor p0 = params[0].detach().clone();
  c.broadcast(p0, 0);
  EXPECT_TRUE(torch::equal(p0, params[0]));
  reducer.prepare(true);
  ((params[0].sum() + params[1].sum() + params[2].sum()) * static_cast<float>(c.rank() + 1)).backward();
  reducer.finish();
  const float expect = c.size() * (c.size() + 1) / 2.0f;
  for (auto& p : params) EXPECT_TRUE(torch::all(p.grad() == expect).item<bool>());
}

TEST(GradReducer, WaitsBucketByBucketInLaunchOrder) {
  auto& c = *world();
  std::vector<torch::Tensor> params{torch::ones({1000}).requires_grad_(), torch::ones({10}).requires_grad_(),
                                    torch::ones({3000}).requires_grad_()};
  dist::GradReducer reducer(params, c, {/*bucket_bytes=*/3000 * 4, false});
  ASSERT_EQ(reducer.num_buckets(), 2u);
  EXPECT_EQ(reducer.bucket_params(0), std::vector<size_t>({2}));
  EXPECT_EQ(reducer.bucket_params(1), std::vector<size_t>({1, 0}));
  reducer.prepare(true);
  ((params[0].sum() + params[1].sum() + params[2].sum()) * static_cast<float>(c.rank() + 1)).backward();
  reducer.launch_remaining();
  EXPECT_THROW(reducer.wait_bucket(1), std::logic_error);  // bucket 0 first
  const float expect = c.size() * (c.size() + 1) / 2.0f;
  reducer.wait_bucket(0);
  EXPECT_TRUE(torch::all(params[2].grad() == expect).item<bool>());
  reducer.wait_bucket(1);
  for (auto& p : params) EXPECT_TRUE(torch::all(p.grad() == expect).item<bool>());
  EXPECT_THROW(reducer.wait_bucket(1), std::logic_error);  // the step's buckets are done
}

TEST(GradReducer, ParameterOfHalfABucketOrMoreIsABucketOfItsOwn) {
  auto& c = *world();
  // 400 B, 8000 B, 400 B with 12000 B buckets: together they would fit one bucket, but the middle
  // parameter (two thirds of a bucket) is reduced alone, in place.
  std::vector<torch::Tensor> params{torch::ones({100}).requires_grad_(), torch::ones({2000}).requires_grad_(),
                                    torch::ones({100}).requires_grad_()};
  dist::GradReducer reducer(params, c, {/*bucket_bytes=*/12000, false});
  ASSERT_EQ(reducer.num_buckets(), 3u);
  EXPECT_EQ(reducer.bucket_params(0), std::vector<size_t>({2}));
  EXPECT_EQ(reducer.bucket_params(1), std::vector<size_t>({1}));
  EXPECT_EQ(reducer.bucket_params(2), std::vector<size_t>({0}));
  reducer.prepare(true);
  ((params[0].sum() + params[1].sum() + params[2].sum()) * static_cast<float>(c.rank() + 1)).backward();
  reducer.finish();
  const float expect = c.size() * (c.size() + 1) / 2.0f;
  for (auto& p : params) EXPECT_TRUE(torch::all(p.grad() == expect).item<bool>());
}
