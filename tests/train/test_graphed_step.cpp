// The CUDA-graph step (train/graphed_step.h) against the eager step: the same parameters after k
// steps, a learning-rate change reaching the replays, and a batch of another shape run eagerly.
// Needs a GPU: skipped on machines without one (the device runs record it).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "fourmi/config/config_loader.h"
#include "fourmi/train/trainer.h"

using namespace fourmi;

namespace {

config::Config graph_config(config::Switch graph) {
  config::Config c = config::load_config_text(config::embedded_default_config(), "embedded");
  c.model.dim = 2;
  c.model.modes = {6, 6};
  c.model.width = 16;
  c.train.cuda_graph = graph;
  return c;
}

data::Batch batch_of(int64_t b, const torch::Device& device, int seed) {
  torch::manual_seed(seed);
  auto opts = torch::TensorOptions().device(device);
  data::Batch batch;
  batch.x = torch::randn({b, 1, 32, 32}, opts);
  batch.y = torch::randn({b, 1, 32, 32}, opts);
  batch.weight = torch::ones({b}, opts);
  batch.local_count = b;
  batch.global_count = b;
  return batch;
}

}  // namespace

TEST(GraphedStep, ReplaysGiveTheEagerStepsParameters) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu(torch::kCUDA, 0);
  auto comm = distributed::make_local_communicator();
  std::vector<std::vector<torch::Tensor>> params;
  for (config::Switch graph : {config::Switch::kOff, config::Switch::kOn}) {
    auto cfg = graph_config(graph);
    torch::manual_seed(0);
    train::Trainer trainer(cfg, models::FNO(cfg.model), gpu, *comm, "/tmp", /*sync=*/{});
    EXPECT_EQ(trainer.graphed(), graph == config::Switch::kOn);
    for (int step = 0; step < 8; ++step) {
      if (step == 6) dynamic_cast<train::FusedAdam&>(trainer.optimizer()).set_lr(0);  // must reach the replays
      trainer.train_step(batch_of(4, gpu, step));
    }
    trainer.train_step(batch_of(3, gpu, 99));  // another shape: eager, the graph kept
    trainer.train_step(batch_of(4, gpu, 100));
    std::vector<torch::Tensor> p;
    for (const auto& t : trainer.model()->parameters()) p.push_back(t.detach().cpu().clone());
    params.push_back(p);
  }
  ASSERT_EQ(params[0].size(), params[1].size());
  for (size_t i = 0; i < params[0].size(); ++i)
    EXPECT_TRUE(torch::allclose(params[0][i], params[1][i], 1e-5, 1e-6))
        << "parameter " << i << " differs by " << (params[0][i] - params[1][i]).abs().max().item<double>();
}

TEST(GraphedStep, RefusedWithoutCuda) {
  auto cfg = graph_config(config::Switch::kOn);
  auto comm = distributed::make_local_communicator();
  EXPECT_THROW(train::Trainer(cfg, models::FNO(cfg.model), torch::kCPU, *comm, "/tmp", {}), std::invalid_argument);
  cfg.train.cuda_graph = config::Switch::kAuto;
  train::Trainer trainer(cfg, models::FNO(cfg.model), torch::kCPU, *comm, "/tmp", {});
  EXPECT_FALSE(trainer.graphed());
}
