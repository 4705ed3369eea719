// End-to-end: a tiny Burgers problem trains below a stated error; checkpoints resume exactly.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "../test_util.h"
#include "fourmi/config/config_loader.h"
#include "fourmi/data/generate.h"
#include "fourmi/train/checkpoint.h"
#include "fourmi/train/loss.h"
#include "fourmi/train/schedule.h"
#include "fourmi/train/trainer.h"
#include "fourmi/util/fs.h"

using namespace fourmi;

namespace {

config::Config tiny_config(const std::string& root) {
  config::Config c = config::load_config_text(config::embedded_default_config(), "embedded");
  c.datagen.out = root + "/data/burgers";
  c.datagen.n_train = 64;
  c.datagen.n_test = 16;
  c.datagen.shards = 2;
  c.datagen.burgers1d.resolution = 256;
  c.datagen.burgers1d.viscosity = 0.05;
  c.data.train = root + "/data/burgers-train";
  c.data.test = root + "/data/burgers-test";
  c.data.sub = 4;
  c.model.width = 16;
  c.model.modes = {8};
  c.model.layers = 2;
  c.model.projection_width = 32;
  c.train.epochs = 25;
  c.train.batch_size = 8;
  c.train.lr = 3e-3;
  c.train.eval_every = 25;
  c.train.checkpoint_every = 5;
  c.run.progress = false;
  return c;
}

}  // namespace

TEST(Loss, RelativeL2ClosedForm) {
  auto t = torch::ones({2, 1, 4});
  auto p = t.clone();
  p[1] *= 1.5;  // error norm 0.5 * 2 over norm 2 = 0.5
  auto per = train::relative_l2_per_sample(p, t);
  EXPECT_NEAR(per[0].item<double>(), 0.0, 1e-7);
  EXPECT_NEAR(per[1].item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(train::relative_l2_loss(p, t, torch::tensor({1.f, 1.f}), 2).item<double>(), 0.25, 1e-7);
  EXPECT_NEAR(train::relative_l2_loss(p, t, torch::tensor({1.f, 0.f}), 4).item<double>(), 0.0, 1e-7);
}

TEST(Schedule, StepAndCosine) {
  config::TrainConfig c;
  c.lr = 1.0, c.schedule = config::Schedule::kStep, c.step_size = 10, c.gamma = 0.5, c.epochs = 100;
  EXPECT_DOUBLE_EQ(train::learning_rate(c, 9), 1.0);
  EXPECT_DOUBLE_EQ(train::learning_rate(c, 25), 0.25);
  c.schedule = config::Schedule::kCosine, c.min_lr = 0.1;
  EXPECT_DOUBLE_EQ(train::learning_rate(c, 0), 1.0);
  EXPECT_NEAR(train::learning_rate(c, 50), 0.55, 1e-12);
}

TEST(Trainer, TinyBurgersLearnsBelowThreshold) {
  fourmi::testing::TempDir tmp;
  auto cfg = tiny_config(tmp.str());
  data::generate_datasets(cfg.datagen, torch::kCPU, false);
  data::Dataset train(cfg.data.train, cfg.data.sub, true), test(cfg.data.test, cfg.data.sub, true);
  auto comm = distributed::make_local_communicator();
  torch::manual_seed(0);
  train::Trainer trainer(cfg, models::FNO(cfg.model), torch::kCPU, *comm, tmp / "run", /*sync=*/{});
  auto before = trainer.evaluate(test).rel_l2;
  auto result = trainer.fit(train, test, {});
  // Threshold: an untrained FNO is near 1; 25 epochs on 64 samples reach well under 0.15 here.
  EXPECT_LT(result.final_eval.rel_l2, 0.15) << "before training " << before;
  EXPECT_LT(result.final_eval.rel_l2, 0.5 * before);
  EXPECT_TRUE(std::filesystem::exists(tmp / "run/metrics.jsonl"));
  EXPECT_TRUE(train::latest_checkpoint(tmp / "run/checkpoints").has_value());
}

TEST(Trainer, ResumeContinuesExactly) {
  fourmi::testing::TempDir tmp;
  auto cfg = tiny_config(tmp.str());
  cfg.train.epochs = 4;
  cfg.train.checkpoint_every = 2;
  cfg.train.schedule =
      config::Schedule::kStep;  // a schedule that does not depend on train.epochs, so the 2-epoch run is a prefix
  cfg.train.step_size = 1;
  cfg.train.gamma = 0.7;
  cfg.datagen.n_train = 16;
  cfg.datagen.n_test = 4;
  data::generate_datasets(cfg.datagen, torch::kCPU, false);
  data::Dataset train(cfg.data.train, cfg.data.sub, true), test(cfg.data.test, cfg.data.sub, true);
  auto comm = distributed::make_local_communicator();
  torch::manual_seed(0);
  train::Trainer straight(cfg, models::FNO(cfg.model), torch::kCPU, *comm, tmp / "straight", /*sync=*/{});
  straight.fit(train, test, {});
  // Interrupted run: 2 epochs, then a new process-like trainer resumes to 4.
  auto half = cfg;
  half.train.epochs = 2;
  torch::manual_seed(0);
  train::Trainer first(half, models::FNO(cfg.model), torch::kCPU, *comm, tmp / "resumed", /*sync=*/{});
  first.fit(train, test, {});
  torch::manual_seed(123);  // a different init: resume must overwrite it
  train::Trainer second(cfg, models::FNO(cfg.model), torch::kCPU, *comm, tmp / "resumed", /*sync=*/{});
  second.fit(train, test, {true});
  auto a = straight.model()->parameters(), b = second.model()->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-6, 1e-7)) << "parameter " << i;
}

TEST(Checkpoint, NoTemporaryFilesLeft) {
  fourmi::testing::TempDir tmp;
  config::ModelConfig m;
  m.width = 4, m.modes = {2}, m.layers = 1, m.projection_width = 4;
  models::FNO model(m);
  auto opt = train::make_optimizer(config::TrainConfig{}, model->parameters());
  train::save_checkpoint(tmp / "ck", *model, *opt, {3, "x: 1\n"});
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp / "ck")) {
    EXPECT_EQ(e.path().filename().string(), "ckpt-000003.safetensors");
    ++files;
  }
  EXPECT_EQ(files, 1);
  models::FNO other(m);
  auto meta = train::load_checkpoint(tmp / "ck/ckpt-000003.safetensors", *other, nullptr);
  EXPECT_EQ(meta.epoch, 3);
  EXPECT_EQ(meta.config_yaml, "x: 1\n");
  EXPECT_TRUE(torch::equal(model->parameters()[0], other->parameters()[0]));
}

TEST(FusedAdam, LoadIntoAnOptimizerThatAlreadySteppedContinuesLikeAFreshOne) {
  fourmi::testing::TempDir tmp;
  config::ModelConfig m;
  m.width = 4, m.modes = {2}, m.layers = 1, m.projection_width = 4;
  config::TrainConfig tc;
  auto step = [](models::FNO& model, torch::optim::Optimizer& opt) {
    for (auto& p : model->parameters()) p.mutable_grad().reset();
    model->forward(torch::ones({2, 1, 8})).pow(2).mean().backward();
    opt.step();
  };
  torch::manual_seed(0);
  models::FNO a(m);
  auto opt_a = train::make_optimizer(tc, a->parameters());
  step(a, *opt_a);
  step(a, *opt_a);
  train::save_checkpoint(tmp / "ck", *a, *opt_a, {2, ""});
  for (int i = 0; i < 3; ++i) step(a, *opt_a);  // moves on, then goes back to step 2
  train::load_checkpoint(tmp / "ck/ckpt-000002.safetensors", *a, opt_a.get());
  step(a, *opt_a);
  models::FNO b(m);
  auto opt_b = train::make_optimizer(tc, b->parameters());
  train::load_checkpoint(tmp / "ck/ckpt-000002.safetensors", *b, opt_b.get());
  step(b, *opt_b);
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::allclose(pa[i], pb[i], 1e-6, 1e-7)) << "parameter " << i;
}

TEST(Trainer, StopRequestCheckpointsInsideTheEpochAndTheResumeIsBitwiseExact) {
  fourmi::testing::TempDir tmp;
  auto cfg = tiny_config(tmp.str());
  cfg.train.epochs = 3;
  cfg.train.checkpoint_every = 10;  // no epoch checkpoint before the stop
  cfg.datagen.n_train = 32;         // 4 steps per epoch
  cfg.datagen.n_test = 4;
  data::generate_datasets(cfg.datagen, torch::kCPU, false);
  data::Dataset train(cfg.data.train, cfg.data.sub, true), test(cfg.data.test, cfg.data.sub, true);
  auto comm = distributed::make_local_communicator();
  torch::manual_seed(0);
  train::Trainer straight(cfg, models::FNO(cfg.model), torch::kCPU, *comm, tmp / "straight", /*sync=*/{});
  straight.fit(train, test, {});
  // A signal arrives during the 6th step (epoch 2, step 2): the run stops after it.
  int polls = 0;
  torch::manual_seed(0);
  train::Trainer first(cfg, models::FNO(cfg.model), torch::kCPU, *comm, tmp / "stopped", /*sync=*/{});
  auto stopped = first.fit(train, test, {false, [&] { return ++polls >= 6 ? SIGUSR1 : 0; }});
  EXPECT_EQ(stopped.stopped_by, SIGUSR1);
  EXPECT_EQ(std::filesystem::path(stopped.last_checkpoint).filename().string(), "ckpt-000001.step-000002.safetensors");
  torch::manual_seed(123);  // a different init: resume must overwrite it
  train::Trainer second(cfg, models::FNO(cfg.model), torch::kCPU, *comm, tmp / "stopped", /*sync=*/{});
  auto resumed = second.fit(train, test, {true});
  EXPECT_EQ(resumed.stopped_by, 0);
  EXPECT_EQ(train::parameter_digest(*second.model()), train::parameter_digest(*straight.model()));
  auto a = straight.model()->parameters(), b = second.model()->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}

TEST(Trainer, NonFiniteLossStopsNamingTheStepAndWritesNoCheckpoint) {
  fourmi::testing::TempDir tmp;
  auto cfg = tiny_config(tmp.str());
  cfg.train.epochs = 3;
  cfg.train.checkpoint_every = 1;
  cfg.train.lr = 1e38;  // the first update blows the weights up
  cfg.datagen.n_train = 16;
  cfg.datagen.n_test = 4;
  data::generate_datasets(cfg.datagen, torch::kCPU, false);
  data::Dataset train(cfg.data.train, cfg.data.sub, true), test(cfg.data.test, cfg.data.sub, true);
  auto comm = distributed::make_local_communicator();
  train::Trainer trainer(cfg, models::FNO(cfg.model), torch::kCPU, *comm, tmp / "run", /*sync=*/{});
  std::string message;
  try {
    trainer.fit(train, test, {});
  } catch (const std::exception& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("NaN or Inf"), std::string::npos) << message;
  EXPECT_NE(message.find("epoch 1 step 2 of 2"), std::string::npos) << message;
  EXPECT_FALSE(train::latest_checkpoint(tmp / "run/checkpoints").has_value());
}

TEST(Checkpoint, AnotherModelsCheckpointRefusedNamingTheParameter) {
  fourmi::testing::TempDir tmp;
  config::ModelConfig m;
  m.width = 4, m.modes = {2}, m.layers = 2, m.projection_width = 4;
  models::FNO two(m);
  auto opt = train::make_optimizer(config::TrainConfig{}, two->parameters());
  train::save_checkpoint(tmp / "ck", *two, *opt, {1, ""});
  m.layers = 1;  // a model with fewer layers would otherwise load the first and ignore the rest
  models::FNO one(m);
  std::string message;
  try {
    train::load_checkpoint(tmp / "ck/ckpt-000001.safetensors", *one, nullptr);
  } catch (const std::exception& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("which this model does not have"), std::string::npos) << message;
  EXPECT_NE(message.find("ckpt-000001.safetensors"), std::string::npos) << message;
}

TEST(Checkpoint, NewestIsTheLargestEpochAndStep) {
  fourmi::testing::TempDir tmp;
  for (const char* f :
       {"ckpt-000002.safetensors", "ckpt-000002.step-000003.safetensors", "ckpt-000001.step-000009.safetensors",
        "ckpt-000003.safetensors.tmp.77", "ckpt-000002.step-000003.modes-001-of-002.safetensors"}) {
    std::filesystem::create_directories(tmp / "ck");
    std::ofstream(tmp / ("ck/" + std::string(f))) << "x";
  }
  auto latest = train::latest_checkpoint(tmp / "ck");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(std::filesystem::path(*latest).filename().string(), "ckpt-000002.step-000003.safetensors");
  EXPECT_EQ(train::checkpoint_position(*latest), std::make_pair(2, 3));
  EXPECT_EQ(train::checkpoint_file_name(7, 0), "ckpt-000007.safetensors");
}

TEST(Checkpoint, DamagedFileRefusedNamingIt) {
  fourmi::testing::TempDir tmp;
  config::ModelConfig m;
  m.width = 4, m.modes = {2}, m.layers = 1, m.projection_width = 4;
  models::FNO model(m);
  auto opt = train::make_optimizer(config::TrainConfig{}, model->parameters());
  const std::string path = train::save_checkpoint(tmp / "ck", *model, *opt, {1, "x: 1\n"});
  std::string bytes = util::read_text(path);
  bytes[bytes.size() - 100] ^= 0x01;  // one bit, on disk, after the write
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  models::FNO other(m);
  std::string message;
  try {
    train::load_checkpoint(path, *other, nullptr);
  } catch (const std::exception& e) {
    message = e.what();
  }
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("fails its checksum"), std::string::npos) << message;
}
