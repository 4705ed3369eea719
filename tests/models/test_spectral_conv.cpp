// Spectral convolution against a dense-DFT reference (explicit sums, float64), forward and gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "fourmi/models/spectral_conv.h"

using fourmi::models::SpectralConv;
using fourmi::models::SpectralConvOptions;

namespace {

// Signed frequencies of the retained modes in SpectralConv's flat order: [M, d].
torch::Tensor retained_frequencies(const std::vector<int>& modes, const std::vector<int64_t>& n) {
  const int d = static_cast<int>(modes.size());
  std::vector<std::vector<int64_t>> out;
  for (int c = 0; c < (1 << (d - 1)); ++c) {
    int64_t per = 1;
    for (int m : modes) per *= m;
    for (int64_t flat = 0; flat < per; ++flat) {
      std::vector<int64_t> k(d);
      int64_t rem = flat;
      for (int j = d - 1; j >= 0; --j) {
        int64_t r = rem % modes[j];
        rem /= modes[j];
        bool negative = j < d - 1 && ((c >> j) & 1);
        k[j] = negative ? r - modes[j] : r;  // n - m + r is the frequency r - m
      }
      out.push_back(k);
    }
  }
  torch::Tensor t = torch::empty({static_cast<int64_t>(out.size()), d}, torch::kFloat64);
  for (size_t i = 0; i < out.size(); ++i)
    for (int j = 0; j < d; ++j) t[i][j] = static_cast<double>(out[i][j]);
  return t;
}

// y(x) = (1/N) Re sum_m c_m e^{+2 pi i k_m . x/n} sum_i W_iom sum_x' x_i(x') e^{-2 pi i k_m . x'/n}
torch::Tensor dense_reference(const torch::Tensor& x, const torch::Tensor& weight, const std::vector<int>& modes) {
  const int d = static_cast<int>(modes.size());
  std::vector<int64_t> n(x.sizes().end() - d, x.sizes().end());
  int64_t total = 1;
  for (auto v : n) total *= v;
  torch::Tensor k = retained_frequencies(modes, n);  // [M, d]
  // Phase of every (mode, grid point): sum_j k_j x_j / n_j.
  std::vector<torch::Tensor> grids;
  for (int j = 0; j < d; ++j) grids.push_back(torch::arange(n[j], torch::kFloat64) / static_cast<double>(n[j]));
  auto mesh = torch::meshgrid(grids, "ij");
  torch::Tensor pos = torch::stack(mesh, -1).reshape({total, d});             // [P, d]
  torch::Tensor phase = 2 * M_PI * torch::matmul(k, pos.t());                 // [M, P]
  torch::Tensor fwd = torch::complex(torch::cos(phase), -torch::sin(phase));  // e^{-i phase}
  torch::Tensor xf = x.reshape({x.size(0), x.size(1), total}).to(torch::kComplexDouble);
  torch::Tensor X = torch::einsum("bip,mp->bim", {xf, fwd});
  torch::Tensor W = torch::view_as_complex(weight);
  torch::Tensor Y = torch::einsum("bim,mio->bom", {X, W});
  torch::Tensor c = torch::where(k.select(1, d - 1) == 0, 1.0, 2.0).to(torch::kComplexDouble);
  torch::Tensor y = torch::real(torch::einsum("bom,mp->bop", {Y * c, torch::conj(fwd)})) / static_cast<double>(total);
  auto shape = x.sizes().vec();
  shape[1] = weight.size(2);
  return y.reshape(shape);
}

using fourmi::config::SpectralTransform;

void check_against_reference(std::vector<int> modes, std::vector<int64_t> grid, SpectralTransform transform) {
  torch::manual_seed(3);
  SpectralConv conv(SpectralConvOptions{3, 2, modes, {}, transform});
  conv->to(torch::kFloat64);
  conv->weight.data().normal_();
  std::vector<int64_t> shape{2, 3};
  shape.insert(shape.end(), grid.begin(), grid.end());
  torch::Tensor x1 = torch::randn(shape, torch::kFloat64).requires_grad_(true);
  torch::Tensor x2 = x1.detach().clone().requires_grad_(true);
  torch::Tensor w2 = conv->weight.detach().clone().requires_grad_(true);

  torch::Tensor y1 = conv->forward(x1);
  torch::Tensor y2 = dense_reference(x2, w2, modes);
  ASSERT_EQ(y1.sizes(), y2.sizes());
  EXPECT_TRUE(torch::allclose(y1, y2, 1e-9, 1e-9)) << "max diff " << (y1 - y2).abs().max().item<double>();

  torch::Tensor g = torch::randn_like(y1);
  (y1 * g).sum().backward();
  (y2 * g).sum().backward();
  EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-9, 1e-9))
      << "input grad diff " << (x1.grad() - x2.grad()).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(conv->weight.grad(), w2.grad(), 1e-9, 1e-9))
      << "weight grad diff " << (conv->weight.grad() - w2.grad()).abs().max().item<double>();
}

}  // namespace

class BothTransforms : public ::testing::TestWithParam<SpectralTransform> {};

TEST_P(BothTransforms, MatchesDenseDft1D) { check_against_reference({5}, {16}, GetParam()); }
TEST_P(BothTransforms, MatchesDenseDft1DOddGrid) { check_against_reference({4}, {11}, GetParam()); }
TEST_P(BothTransforms, MatchesDenseDft2D) { check_against_reference({3, 4}, {8, 10}, GetParam()); }
TEST_P(BothTransforms, MatchesDenseDft2DOddGrid) { check_against_reference({2, 3}, {7, 9}, GetParam()); }
TEST_P(BothTransforms, MatchesDenseDft3D) { check_against_reference({2, 3, 2}, {6, 8, 6}, GetParam()); }
TEST_P(BothTransforms, MatchesDenseDft3DOddGrid) { check_against_reference({2, 1, 3}, {5, 7, 7}, GetParam()); }
// Modes up to the edge the layer accepts: n / 2 on every axis (corners touching, no Nyquist).
TEST_P(BothTransforms, MatchesDenseDftAtTheModeLimit) { check_against_reference({4, 3}, {8, 7}, GetParam()); }

namespace {

// The layer with its skip (spectral(x) + W x + b, fused into the inverse on the DFT path) against
// the two computed apart, values and the gradients of x, the spectral weight, W and b, float64.
void check_skip_against_sum(std::vector<int> modes, std::vector<int64_t> grid, SpectralTransform transform) {
  torch::manual_seed(4);
  SpectralConv conv(SpectralConvOptions{3, 2, modes, {}, transform});
  fourmi::models::PointwiseLinear skip(3, 2);
  conv->to(torch::kFloat64);
  skip->to(torch::kFloat64);
  std::vector<int64_t> shape{2, 3};
  shape.insert(shape.end(), grid.begin(), grid.end());
  torch::Tensor x1 = torch::randn(shape, torch::kFloat64).requires_grad_(true);
  torch::Tensor x2 = x1.detach().clone().requires_grad_(true);
  torch::Tensor fused = conv->forward(x1, skip.get());
  torch::Tensor g = torch::randn_like(fused);
  (fused * g).sum().backward();
  std::vector<torch::Tensor> fused_grads{x1.grad(), conv->weight.grad().clone(), skip->weight.grad().clone(),
                                         skip->bias.grad().clone()};
  conv->zero_grad();
  skip->zero_grad();
  torch::Tensor apart = conv->forward(x2) + skip->forward(x2);
  EXPECT_TRUE(torch::allclose(fused, apart, 1e-10, 1e-10)) << "max diff " << (fused - apart).abs().max().item<double>();
  (apart * g).sum().backward();
  std::vector<torch::Tensor> apart_grads{x2.grad(), conv->weight.grad(), skip->weight.grad(), skip->bias.grad()};
  const char* names[] = {"x", "spectral weight", "skip weight", "skip bias"};
  for (size_t i = 0; i < fused_grads.size(); ++i)
    EXPECT_TRUE(torch::allclose(fused_grads[i], apart_grads[i], 1e-10, 1e-10))
        << names[i] << " gradient differs by " << (fused_grads[i] - apart_grads[i]).abs().max().item<double>();
}

}  // namespace

TEST_P(BothTransforms, SkipFusedMatchesTheSum1D) { check_skip_against_sum({5}, {11}, GetParam()); }
TEST_P(BothTransforms, SkipFusedMatchesTheSum2D) { check_skip_against_sum({3, 4}, {8, 10}, GetParam()); }
TEST_P(BothTransforms, SkipFusedMatchesTheSum3D) { check_skip_against_sum({2, 1, 3}, {5, 7, 7}, GetParam()); }

TEST(SpectralConv, RefusesASkipOfOtherChannels) {
  SpectralConv conv(SpectralConvOptions{3, 2, {2}});
  fourmi::models::PointwiseLinear skip(2, 2);
  EXPECT_THROW(conv->forward(torch::randn({1, 3, 8}), skip.get()), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(SpectralConv, BothTransforms,
                         ::testing::Values(SpectralTransform::kFft, SpectralTransform::kDft),
                         [](const auto& info) { return std::string(fourmi::config::name_of(info.param)); });

TEST(SpectralConv, AutoPicksFftOnCpuAndDftForFewModesOnCuda) {
  using fourmi::models::choose_transform;
  EXPECT_EQ(choose_transform(SpectralTransform::kAuto, {16, 16}, torch::kCPU, true), SpectralTransform::kFft);
  EXPECT_EQ(choose_transform(SpectralTransform::kDft, {16, 16}, torch::kCPU, true), SpectralTransform::kDft);
  const torch::Device gpu(torch::kCUDA, 0);
  EXPECT_EQ(choose_transform(SpectralTransform::kAuto, {16, 16}, gpu, true), SpectralTransform::kDft);
  EXPECT_EQ(choose_transform(SpectralTransform::kAuto, {fourmi::models::kDftModeLimit + 1, 4}, gpu, true),
            SpectralTransform::kFft);
  EXPECT_EQ(choose_transform(SpectralTransform::kAuto, {fourmi::models::kDftModeLimitFp32 + 1}, gpu, false),
            SpectralTransform::kFft);
  EXPECT_EQ(choose_transform(SpectralTransform::kFft, {4}, gpu, true), SpectralTransform::kFft);
}

TEST(SpectralConv, WeightsAreRealWithTrailingTwo) {
  SpectralConv conv(SpectralConvOptions{4, 5, {3, 2}});
  EXPECT_FALSE(conv->weight.is_complex());
  EXPECT_EQ(conv->weight.sizes(), (std::vector<int64_t>{2 * 3 * 2, 4, 5, 2}));
}

TEST(SpectralConv, RejectsModesThatDoNotFitTheGrid) {
  SpectralConv conv(SpectralConvOptions{1, 1, {8}});
  try {
    conv->forward(torch::randn({1, 1, 12}));
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at least 16 points"), std::string::npos) << e.what();
  }
}

TEST(SpectralConv, GatherScatterAreAdjoint) {
  std::vector<int> modes{2, 3};
  torch::Tensor spec = torch::randn({1, 1, 8, 5}, torch::kComplexDouble);
  torch::Tensor flat = torch::randn({2 * 2 * 3, 1, 1}, torch::kComplexDouble);
  auto lhs = (torch::conj(fourmi::models::gather_modes(spec, modes)) * flat).sum();
  auto rhs = (torch::conj(spec) * fourmi::models::scatter_modes(flat, modes, {8, 5})).sum();
  EXPECT_NEAR(std::abs(lhs.item<c10::complex<double>>() - rhs.item<c10::complex<double>>()), 0.0, 1e-10);
}
