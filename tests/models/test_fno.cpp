// FNO shapes in 1D/2D/3D, evaluation at another resolution, padding, parameter layout.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>
#include <numeric>

#include "fourmi/models/fno.h"

using fourmi::config::ModelConfig;
using fourmi::models::FNO;
using fourmi::models::forward_rollout;

namespace {
ModelConfig small(int dim, std::vector<int> modes) {
  ModelConfig c;
  c.dim = dim;
  c.in_channels = 2;
  c.out_channels = 3;
  c.width = 8;
  c.modes = std::move(modes);
  c.layers = 2;
  c.projection_width = 16;
  return c;
}
}  // namespace

TEST(FNO, OutputShapes1D2D3D) {
  FNO f1(small(1, {4}));
  EXPECT_EQ(f1->forward(torch::randn({5, 2, 32})).sizes(), (std::vector<int64_t>{5, 3, 32}));
  FNO f2(small(2, {4, 3}));
  EXPECT_EQ(f2->forward(torch::randn({2, 2, 16, 12})).sizes(), (std::vector<int64_t>{2, 3, 16, 12}));
  FNO f3(small(3, {2, 2, 3}));
  EXPECT_EQ(f3->forward(torch::randn({1, 2, 8, 8, 10})).sizes(), (std::vector<int64_t>{1, 3, 8, 8, 10}));
}

TEST(FNO, EvaluatesAtAnotherResolution) {
  torch::manual_seed(0);
  FNO f(small(1, {6}));
  f->eval();
  // A smooth band-limited input sampled at 64 and at 128 points: the operator is discretisation
  // invariant up to the grid embedding and pointwise aliasing, so outputs agree closely.
  auto grid = [](int64_t n) { return torch::arange(n, torch::kFloat32) / static_cast<double>(n); };
  auto field = [](const torch::Tensor& x) {
    return torch::stack({torch::sin(2 * M_PI * x), torch::cos(4 * M_PI * x)}).unsqueeze(0);
  };
  torch::NoGradGuard ng;
  torch::Tensor coarse = f->forward(field(grid(64)));
  torch::Tensor fine = f->forward(field(grid(128)));
  EXPECT_EQ(fine.sizes(), (std::vector<int64_t>{1, 3, 128}));
  torch::Tensor fine_on_coarse =
      fine.index({torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(0, 128, 2)});
  double rel = ((fine_on_coarse - coarse).norm() / coarse.norm()).item<double>();
  EXPECT_LT(rel, 0.05) << "relative difference between resolutions " << rel;
}

TEST(FNO, DomainPaddingKeepsShape) {
  auto c = small(2, {3, 3});
  c.padding = 0.25;
  FNO f(c);
  EXPECT_EQ(f->forward(torch::randn({2, 2, 12, 16})).sizes(), (std::vector<int64_t>{2, 3, 12, 16}));
}

TEST(FNO, AllParametersAreRealAndGetGradients) {
  FNO f(small(2, {3, 3}));
  auto y = f->forward(torch::randn({2, 2, 12, 12}));
  y.pow(2).mean().backward();
  for (const auto& p : f->named_parameters()) {
    EXPECT_FALSE(p.value().is_complex()) << p.key();
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST(FNO, RejectsWrongInputChannels) {
  FNO f(small(1, {4}));
  EXPECT_THROW(f->forward(torch::randn({1, 5, 32})), std::invalid_argument);
}

// Every parameter starts as NaN; the stage hook gives stage s its real values. Any stage that read
// a parameter before its hook ran (or a parameter in no stage, or in the wrong one) would make
// the output NaN or differ from the untouched model's.
TEST(FNO, StageHookRunsBeforeEachStageReadsItsParameters) {
  torch::manual_seed(3);
  ModelConfig c = small(2, {4, 3});
  c.padding = 0.25;
  FNO f(c);
  const torch::Tensor x = torch::randn({2, 2, 16, 12});
  const torch::Tensor expected = f->forward(x).detach();
  const auto stages = f->stage_parameters();
  ASSERT_EQ(stages.size(), static_cast<size_t>(c.layers + 2));
  size_t staged = 0;
  for (const auto& s : stages) staged += s.size();
  EXPECT_EQ(staged, f->parameters().size());
  std::vector<std::vector<torch::Tensor>> saved;
  {
    torch::NoGradGuard no_grad;
    for (const auto& s : stages) {
      saved.emplace_back();
      for (auto p : s) {
        saved.back().push_back(p.detach().clone());
        p.fill_(std::numeric_limits<float>::quiet_NaN());
      }
    }
  }
  std::vector<int> entered;
  f->set_stage_hook([&](int s) {
    entered.push_back(s);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < stages[s].size(); ++i) stages[s][i].copy_(saved[s][i]);
  });
  const torch::Tensor out = f->forward(x).detach();
  std::vector<int> in_order(stages.size());
  std::iota(in_order.begin(), in_order.end(), 0);
  EXPECT_EQ(entered, in_order);
  EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-6));
  f->set_stage_hook({});  // removed from the spectral layers too: a second forward calls nothing
  entered.clear();
  f->forward(x);
  EXPECT_TRUE(entered.empty());
}

TEST(FNO, RolloutFeedsEachOutputBackIntoTheInputWindow) {
  torch::manual_seed(3);
  ModelConfig c = small(1, {4});
  c.in_channels = 3;
  c.out_channels = 1;
  FNO net(c);
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::randn({2, 3, 16});
  EXPECT_TRUE(torch::equal(forward_rollout(*net, x), net->forward(x)));  // rollout_steps 0: one forward
  c.rollout_steps = 3;
  FNO rolled(c);
  for (size_t i = 0; i < net->parameters().size(); ++i) rolled->parameters()[i].copy_(net->parameters()[i]);
  torch::Tensor y = forward_rollout(*rolled, x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 16}));
  torch::Tensor y1 = net->forward(x);
  torch::Tensor y2 = net->forward(torch::cat({x.narrow(1, 1, 2), y1}, 1));
  torch::Tensor y3 = net->forward(torch::cat({x.narrow(1, 2, 1), y1, y2}, 1));
  EXPECT_TRUE(torch::allclose(y, torch::cat({y1, y2, y3}, 1), 1e-6, 1e-6));
}

TEST(FNO, RolloutWithMoreOutputsThanInputsRefused) {
  ModelConfig c = small(1, {4});
  c.in_channels = 1;
  c.out_channels = 2;
  c.rollout_steps = 2;
  EXPECT_THROW(FNO net(c), std::invalid_argument);
}
