// Data parallelism: N ranks with global batch B end with the parameters of 1 rank with batch B
// (1e-5 relative), bitwise identical across ranks; uneven last batches and micro-steps included.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>

#include "../test_util.h"
#include "fourmi/config/config_loader.h"
#include "fourmi/data/generate.h"
#include "fourmi/distributed/grad_reducer.h"
#include "fourmi/distributed/mpi_communicator.h"
#include "fourmi/models/mode_mix.h"
#include "fourmi/runtime/parallel_plan.h"
#include "fourmi/train/trainer.h"
#include "fourmi/util/safetensors.h"

using namespace fourmi;

namespace {

std::unique_ptr<distributed::Communicator>& world() {
  static auto w = distributed::make_mpi_world_communicator(120.0);
  return w;
}

// A directory name every rank agrees on (rank 0 draws, broadcast).
std::string shared_tmp(distributed::Communicator& c) {
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

// The gradient synchronisation this launch's ParallelPlan gives `cfg` (CPU ranks, MPI).
distributed::ReducerOptions sync_for(const config::Config& cfg) {
  return runtime::reducer_options(runtime::resolve_plan(cfg, distributed::detect_launch(), runtime::Capabilities{}));
}

std::vector<torch::Tensor> train_params(const config::Config& cfg, distributed::Communicator& comm,
                                        const std::string& run_dir) {
  data::Dataset train(cfg.data.train, cfg.data.sub, true), test(cfg.data.test, cfg.data.sub, true);
  torch::manual_seed(comm.rank() == 0 ? 0 : 1000 + comm.rank());  // ranks start different: the broadcast must fix it
  train::Trainer trainer(cfg, models::FNO(cfg.model), torch::kCPU, comm, run_dir, sync_for(cfg));
  trainer.fit(train, test, {});
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
  auto local = distributed::make_local_communicator();
  auto reference = train_params(cfg, *local, root + "/ref-" + std::to_string(c.rank()));
  double worst = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    double rel = ((distributed[i] - reference[i]).norm() / reference[i].norm().clamp_min(1e-12)).item<double>();
    worst = std::max(worst, rel);
  }
  // Float32 sums of the split batch run in another order than the whole batch's, and Adam
  // normalises the tiny gradient differences: 1.1e-5 measured on an AVX-512 CPU, a few 1e-6 elsewhere.
  EXPECT_LT(worst, 3e-5) << "worst relative difference to single-rank training";
  // Bitwise identical across ranks: gather every rank's flat parameters and compare to rank 0's.
  torch::Tensor flat = torch::cat([&] {
    std::vector<torch::Tensor> v;
    for (auto& p : distributed) v.push_back(p.reshape(-1));
    return v;
  }());
  torch::Tensor all = c.all_gather(flat.unsqueeze(0));
  for (int r = 1; r < c.size(); ++r)
    EXPECT_TRUE(torch::equal(all[r], all[0])) << "rank " << r << " differs from rank 0";
  c.barrier();
  if (c.rank() == 0) fourmi::testing::TempDir::remove_tree(root);
}

}  // namespace

TEST(DataParallel, MatchesSingleRankTraining) {
  auto cfg = tiny("");
  ASSERT_TRUE(cfg.parallel.shard_optimizer);  // the defaults: every bucket sharded
  expect_same_as_single_rank(cfg);
}

TEST(DataParallel, MatchesWithShardedAndAllReducedBuckets) {
  auto cfg = tiny("");
  cfg.parallel.bucket_mb = 0.001;       // 1 KiB buckets: the spectral weights (3 KiB) alone,
  cfg.parallel.shard_min_mb = {0.002};  // and sharded; the rest in buckets under 2 KiB, all-reduced
  expect_same_as_single_rank(cfg);
}

TEST(DataParallel, MatchesWithAllReduceAndReplicatedAdam) {
  auto cfg = tiny("");
  cfg.parallel.shard_optimizer = false;
  expect_same_as_single_rank(cfg);
}

TEST(DataParallel, MatchesWithSmallBucketsAndMicroSteps) {
  auto cfg = tiny("");
  cfg.parallel.shard_optimizer = false;
  cfg.parallel.bucket_mb = 0.001;  // one parameter per bucket: many overlapped all-reduces
  cfg.train.grad_accum = 2;
  expect_same_as_single_rank(cfg);
}

TEST(DataParallel, MatchesWithEveryBucketShardedSmallBucketsAndMicroSteps) {
  auto cfg = tiny("");
  cfg.parallel.shard_min_mb = {0.0};
  cfg.parallel.bucket_mb = 0.001;  // one parameter per bucket: biases of 8 values padded to the group size
  cfg.train.grad_accum = 2;
  expect_same_as_single_rank(cfg);
}

// A sharded optimizer's checkpoint holds the same per-parameter Adam state as an unsharded one, and
// resuming from it continues as the unsharded run does.
void expect_sharded_checkpoint_like_unsharded(double bucket_mb, double shard_min_mb) {
  auto& c = *world();
  std::string root = shared_tmp(c);
  config::Config cfg = tiny(root);
  cfg.train.checkpoint_every = 1;
  cfg.parallel.bucket_mb = bucket_mb;
  cfg.parallel.shard_min_mb = {shard_min_mb};
  if (c.rank() == 0) data::generate_datasets(cfg.datagen, torch::kCPU, false);
  c.barrier();
  data::Dataset train(cfg.data.train, cfg.data.sub, true), test(cfg.data.test, cfg.data.sub, true);
  auto run = [&](bool shard, int epochs, bool resume) {
    config::Config rc = cfg;
    rc.parallel.shard_optimizer = shard;
    rc.train.epochs = epochs;
    torch::manual_seed(0);
    train::Trainer trainer(rc, models::FNO(rc.model), torch::kCPU, c, root + (shard ? "/sharded" : "/plain"),
                           sync_for(rc));
    auto result = trainer.fit(train, test, {resume});
    std::vector<torch::Tensor> out;
    for (auto& p : trainer.model()->parameters()) out.push_back(p.detach().clone());
    return std::make_pair(result.last_checkpoint, out);
  };
  auto rel = [](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).norm() / b.norm().clamp_min(1e-12)).item<double>();
  };
  auto plain = run(false, 2, false);
  auto sharded = run(true, 2, false);
  if (c.rank() == 0) {
    util::SafetensorsReader a(plain.first), b(sharded.first);
    auto tensor_of = [](const util::SafetensorsReader& r, const std::string& key) {
      const util::SafetensorsEntry& e = r.entry(key);
      torch::Tensor t = torch::empty(e.shape, e.dtype == "I64" ? torch::kInt64 : torch::kFloat32);
      r.read(key, t.data_ptr(), e.end - e.begin);
      return t;
    };
    models::FNO names(cfg.model);
    for (const auto& item : names->named_parameters()) {
      for (std::string what : {"exp_avg/", "exp_avg_sq/", "step/"}) {
        ASSERT_TRUE(a.has(what + item.key())) << what << item.key();
        ASSERT_TRUE(b.has(what + item.key())) << what << item.key() << " missing from the sharded run's checkpoint";
        torch::Tensor x = tensor_of(a, what + item.key()), y = tensor_of(b, what + item.key());
        EXPECT_LT(rel(y.to(torch::kFloat64), x.to(torch::kFloat64)), 1e-5) << what << item.key();
      }
    }
  }
  auto plain_resumed = run(false, 3, true);
  auto sharded_resumed = run(true, 3, true);
  for (size_t i = 0; i < plain_resumed.second.size(); ++i)
    EXPECT_LT(rel(sharded_resumed.second[i], plain_resumed.second[i]), 1e-5) << "parameter " << i << " after resuming";
  c.barrier();
  if (c.rank() == 0) fourmi::testing::TempDir::remove_tree(root);
}

TEST(DataParallel, ShardedOptimizerCheckpointsFullStateAndResumes) {
  // The defaults: the whole tiny model in one bucket, parameters at aligned offsets, padded.
  expect_sharded_checkpoint_like_unsharded(25.0, 0.0);
}

TEST(DataParallel, ShardedAndAllReducedBucketsCheckpointAndResume) {
  // Sharded spectral weights (alone, 3 KiB) next to smaller all-reduced buckets.
  expect_sharded_checkpoint_like_unsharded(0.001, 0.002);
}

TEST(GradReducer, BucketsInReverseOrderAndBroadcast) {
  auto& c = *world();
  torch::manual_seed(c.rank());
  std::vector<torch::Tensor> params{torch::randn({1000}).requires_grad_(), torch::randn({10}).requires_grad_(),
                                    torch::randn({3000}).requires_grad_()};
  distributed::GradReducer reducer(params, c, {/*bucket_bytes=*/3000 * 4, false});
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
  distributed::GradReducer reducer(params, c, {/*bucket_bytes=*/3000 * 4, false});
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
  distributed::GradReducer reducer(params, c, {/*bucket_bytes=*/12000, false});
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

// Parameters of 5, 6 and 40 values (`value` each) and a sharded reducer with 64-byte buckets: the
// 40 values (160 B) alone, the 5 + 6 (44 B) together; buckets under `shard_min_bytes` all-reduced.
std::vector<torch::Tensor> three_parameters(float value) {
  return {torch::full({5}, value).requires_grad_(), torch::full({6}, value).requires_grad_(),
          torch::full({40}, value).requires_grad_()};
}
distributed::ReducerOptions sharded_options(int64_t shard_min_bytes) {
  distributed::ReducerOptions options;
  options.bucket_bytes = 64;
  options.shard = true;
  options.shard_min_bytes = shard_min_bytes;
  return options;
}

TEST(GradReducer, ShardedReducesScattersAndGathersBlocks) {
  auto& c = *world();
  const int n = c.size();
  // Both buckets sharded; the 5 + 6 values padded to a multiple of n.
  std::vector<torch::Tensor> params = three_parameters(0.0f);
  distributed::GradReducer reducer(params, c, sharded_options(0));
  ASSERT_EQ(reducer.num_buckets(), 2u);
  EXPECT_EQ(reducer.bucket_params(1), std::vector<size_t>({1, 0}));
  EXPECT_EQ(reducer.padded_numel(1) % n, 0);
  EXPECT_GE(reducer.padded_numel(1), 11);
  const float ranks_sum = n * (n + 1) / 2.0f;
  // One synchronised backward in which every element's gradient is (rank + 1) * (its position in
  // its parameter + 1); returns whether each bucket's reduced block is the closed form: each
  // parameter's ramp times the sum over ranks at its offset, zeros in the padding and gaps.
  auto step_matches = [&](const std::function<void(size_t)>& update) {
    for (auto& p : params) p.mutable_grad().reset();
    reducer.prepare(true);
    torch::Tensor loss = torch::zeros({});
    for (auto& p : params) loss = loss + (p * torch::arange(1, p.numel() + 1, torch::kFloat32)).sum();
    (loss * static_cast<float>(c.rank() + 1)).backward();
    reducer.launch_remaining();
    bool all = true;
    for (size_t b = 0; b < 2; ++b) {
      reducer.wait_bucket(b);
      const torch::Tensor& shard = reducer.shard(b);
      EXPECT_EQ(shard.numel(), reducer.padded_numel(b) / n);
      torch::Tensor expect = torch::zeros({reducer.padded_numel(b)});
      for (size_t i = 0; i < reducer.bucket_params(b).size(); ++i) {
        const int64_t len = params[reducer.bucket_params(b)[i]].numel();
        expect.narrow(0, reducer.bucket_offsets(b)[i], len)
            .copy_(torch::arange(1, len + 1, torch::kFloat32) * ranks_sum);
      }
      const bool same = torch::equal(shard.grad(), expect.narrow(0, c.rank() * shard.numel(), shard.numel()));
      EXPECT_TRUE(same) << "bucket " << b;
      all = all && same;
      update(b);
    }
    return all;
  };
  // This rank's update: its block of the parameters becomes 100 (rank + 1) + the reduced gradient.
  EXPECT_TRUE(step_matches([&](size_t b) {
    torch::NoGradGuard no_grad;
    const torch::Tensor& shard = reducer.shard(b);
    const_cast<torch::Tensor&>(shard).copy_(shard.grad() + 100.0f * (c.rank() + 1));
  }));
  reducer.all_gather_parameters();
  reducer.wait_all_parameters();
  // Every rank now holds every block, each from its owner; the parameters are views of the buffers.
  for (size_t b = 0; b < 2; ++b) {
    const int64_t block = reducer.padded_numel(b) / n;
    for (size_t i = 0; i < reducer.bucket_params(b).size(); ++i) {
      const torch::Tensor& p = params[reducer.bucket_params(b)[i]];
      for (int64_t j = 0; j < p.numel(); ++j) {
        const int64_t owner = (reducer.bucket_offsets(b)[i] + j) / block;
        EXPECT_FLOAT_EQ(p[j].item<float>(), (j + 1) * ranks_sum + 100.0f * (owner + 1))
            << "param " << reducer.bucket_params(b)[i] << " element " << j;
      }
    }
  }
  // A second step reduces to the same blocks: nothing of the first is left in the padding or gaps.
  EXPECT_TRUE(step_matches([](size_t) {}));
}

TEST(GradReducer, ShardedLeavesBucketsUnderTheThresholdToAllReduce) {
  auto& c = *world();
  // 160 B alone (sharded) and 5 + 6 values (44 B, under the 100-byte threshold: all-reduced).
  std::vector<torch::Tensor> params = three_parameters(1.0f);
  distributed::GradReducer reducer(params, c, sharded_options(100));
  ASSERT_EQ(reducer.num_buckets(), 2u);
  EXPECT_TRUE(reducer.bucket_sharded(0));
  EXPECT_FALSE(reducer.bucket_sharded(1));
  EXPECT_THROW(reducer.shard(1), std::logic_error);
  ASSERT_EQ(reducer.update_tensors(1).size(), 2u);  // the small bucket's parameters themselves
  EXPECT_TRUE(reducer.update_tensors(1)[0].is_same(params[1]));
  reducer.prepare(true);
  ((params[0].sum() + params[1].sum() + params[2].sum()) * static_cast<float>(c.rank() + 1)).backward();
  reducer.launch_remaining();
  reducer.wait_bucket(0);
  reducer.wait_bucket(1);
  const float expect = c.size() * (c.size() + 1) / 2.0f;
  for (size_t k : {0, 1}) EXPECT_TRUE(torch::all(params[k].grad() == expect).item<bool>()) << "parameter " << k;
  // This rank's block of the 40 values (the padding that makes 40 divisible by the ranks aside).
  const torch::Tensor& shard = reducer.shard(0);
  const int64_t real = std::min<int64_t>(shard.numel(), 40 - c.rank() * shard.numel());
  EXPECT_TRUE(torch::all(shard.grad().narrow(0, 0, real) == expect).item<bool>());
}

// Gradients written in place: the spectral mixing's backward asks the reducer where the weight's
// gradient goes and writes it there, autograd keeps that tensor as `.grad` (no copy), and the
// bucket reduces it: the sum over ranks of x_r^H · dout with x_r = (rank + 1) x.
class GradIntoBucket : public ::testing::TestWithParam<bool> {};

TEST_P(GradIntoBucket, BackwardWritesTheWeightGradientIntoItsBucket) {
  auto& c = *world();
  const bool shard = GetParam();
  torch::manual_seed(11);                                         // the same x, dout and weight on every rank
  torch::Tensor w = torch::randn({3, 2, 4, 2}).requires_grad_();  // [modes, Cin, Cout, 2]: 48 values
  torch::Tensor bias = torch::randn({5}).requires_grad_();
  torch::Tensor x = torch::randn({3, 6, 2}, torch::kComplexFloat), go = torch::randn({3, 6, 4}, torch::kComplexFloat);
  distributed::ReducerOptions options;
  options.bucket_bytes = 64;  // the weight (192 B) alone
  options.shard = shard;
  std::vector<torch::Tensor> params{bias, w};
  distributed::GradReducer reducer(params, c, options);
  const size_t bucket = reducer.bucket_of(1);
  ASSERT_EQ(reducer.bucket_params(bucket), std::vector<size_t>({1}));
  torch::Tensor into = reducer.grad_destination(w);
  ASSERT_TRUE(into.defined());
  EXPECT_EQ(into.sizes(), w.sizes());
  EXPECT_FALSE(reducer.grad_destination(torch::zeros({3, 2, 4, 2})).defined()) << "not one of the reducer's parameters";

  reducer.prepare(true);
  torch::Tensor y =
      fourmi::models::mode_mix(x * static_cast<float>(c.rank() + 1), w, [&] { return reducer.grad_destination(w); });
  (torch::real(y * go.conj()).sum() + bias.sum()).backward();  // d/dy: go
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(w.grad().data_ptr(), into.data_ptr()) << "the gradient was copied instead of written into the bucket";
  EXPECT_FALSE(reducer.grad_destination(w).defined()) << "a parameter with a gradient accumulates into it";
  reducer.launch_remaining();
  for (size_t b = 0; b < reducer.num_buckets(); ++b) reducer.wait_bucket(b);

  // d/dw of Re<x·w, go> is x^H · go; summed over ranks (rank + 1) times.
  const float ranks_sum = c.size() * (c.size() + 1) / 2.0f;
  torch::Tensor expect = torch::view_as_real(torch::bmm(x.conj().transpose(1, 2), go)).reshape(-1) * ranks_sum;
  if (shard) {
    const torch::Tensor& block = reducer.shard(bucket).grad();
    const int64_t lo = c.rank() * block.numel(),
                  len = std::max<int64_t>(0, std::min<int64_t>(block.numel(), expect.numel() - lo));
    EXPECT_TRUE(torch::allclose(block.narrow(0, 0, len), expect.narrow(0, lo, len), 1e-5, 1e-6));
  } else {
    EXPECT_TRUE(torch::allclose(w.grad().reshape(-1), expect, 1e-5, 1e-6));
  }

  distributed::ReducerOptions off = options;
  off.grad_into_bucket = false;
  std::vector<torch::Tensor> others{torch::zeros({5}).requires_grad_(), torch::zeros({3, 2, 4, 2}).requires_grad_()};
  distributed::GradReducer copying(others, c, off);
  EXPECT_FALSE(copying.grad_destination(others[1]).defined()) << "parallel.grad_into_bucket: false";
}

INSTANTIATE_TEST_SUITE_P(ShardedOrNot, GradIntoBucket, ::testing::Bool());

TEST(DataParallel, MatchesWithGradientsCopiedIntoBuckets) {
  auto cfg = tiny("");
  cfg.parallel.grad_into_bucket = false;
  cfg.train.grad_accum = 2;
  expect_same_as_single_rank(cfg);
}
