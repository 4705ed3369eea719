// The truncated DFT against torch's FFTs: forward = gather_modes(rfftn), inverse = irfftn(scatter_modes),
// each pair of planar maps adjoint, and the whole spectral layer on the DFT against the FFT layer in float32.
#include <gtest/gtest.h>
#include <torch/fft.h>
#include <torch/torch.h>

#include "fourmi/models/spectral_conv.h"
#include "fourmi/models/truncated_dft.h"

using fourmi::config::SpectralTransform;
using fourmi::models::SpectralConv;
using fourmi::models::SpectralConvOptions;
using fourmi::models::TruncatedDft;

namespace {

struct Case {
  std::vector<int64_t> grid;
  std::vector<int> modes;
  int64_t batch;
};

// Even and odd grids, 1 to 3 axes, batch 1, modes at the limit (n / 2) and a single mode.
const std::vector<Case> kCases = {
    {{16}, {5}, 3},
    {{11}, {5}, 1},
    {{8, 10}, {3, 4}, 2},
    {{7, 9}, {3, 4}, 1},
    {{8, 8}, {4, 4}, 1},
    {{6, 8, 6}, {2, 3, 2}, 2},
    {{5, 7, 9}, {2, 3, 4}, 1},
    {{4, 6}, {1, 1}, 2},
};

std::vector<int64_t> spectrum_of(const std::vector<int64_t>& grid) {
  std::vector<int64_t> s = grid;
  s.back() = grid.back() / 2 + 1;
  return s;
}

std::vector<int64_t> fft_dims(size_t d) {
  std::vector<int64_t> dims;
  for (size_t k = 0; k < d; ++k) dims.push_back(2 + static_cast<int64_t>(k));
  return dims;
}

std::vector<int64_t> shape_of(const Case& c, int64_t channels) {
  std::vector<int64_t> s{c.batch, channels};
  s.insert(s.end(), c.grid.begin(), c.grid.end());
  return s;
}

double relative(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

}  // namespace

TEST(TruncatedDft, ForwardIsTheRetainedModesOfRfftn) {
  for (const auto& c : kCases) {
    torch::manual_seed(1);
    torch::Tensor x = torch::randn(shape_of(c, 3), torch::kFloat64);
    auto dft = std::make_shared<const TruncatedDft>(c.grid, c.modes, x.options());
    torch::Tensor expected =
        fourmi::models::gather_modes(torch::fft::rfftn(x, c10::nullopt, fft_dims(c.grid.size())), c.modes);
    torch::Tensor got = fourmi::models::truncated_dft(dft, x);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_LT(relative(got, expected), 1e-12) << "grid " << c.grid.size() << "D, first axis " << c.grid[0];
  }
}

TEST(TruncatedDft, InverseIsIrfftnOfTheScatteredModes) {
  for (const auto& c : kCases) {
    torch::manual_seed(2);
    auto dft = std::make_shared<const TruncatedDft>(c.grid, c.modes, torch::TensorOptions(torch::kFloat64));
    torch::Tensor z = torch::randn({dft->total_modes(), c.batch, 2}, torch::kComplexDouble);
    torch::Tensor spectrum = fourmi::models::scatter_modes(z, c.modes, spectrum_of(c.grid));
    torch::Tensor expected = torch::fft::irfftn(spectrum, c.grid, fft_dims(c.grid.size()));
    torch::Tensor got = fourmi::models::truncated_idft(dft, z);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_LT(relative(got, expected), 1e-12) << "grid " << c.grid.size() << "D, first axis " << c.grid[0];
  }
}

// <A x, g> = <x, A^T g> for the planar maps the autograd functions' backwards are made of.
TEST(TruncatedDft, PlanarMapsAndTheirAdjointsAgree) {
  for (const auto& c : kCases) {
    torch::manual_seed(3);
    TruncatedDft dft(c.grid, c.modes, torch::TensorOptions(torch::kFloat64));
    torch::Tensor x = torch::randn(shape_of(c, 2), torch::kFloat64);
    torch::Tensor g = torch::randn({2, dft.total_modes(), c.batch, 2}, torch::kFloat64);
    EXPECT_NEAR((dft.forward(x) * g).sum().item<double>(), (x * dft.adjoint_forward(g)).sum().item<double>(), 1e-9);
    EXPECT_NEAR((dft.inverse(g) * x).sum().item<double>(), (g * dft.adjoint_inverse(x)).sum().item<double>(), 1e-9);
  }
}

// The layer in float32, as it trains: values and every gradient within 1e-5 of the FFT layer's.
TEST(TruncatedDft, SpectralLayerMatchesTheFftLayerInFloat32) {
  for (const auto& c : kCases) {
    torch::manual_seed(4);
    SpectralConv fft(SpectralConvOptions{3, 4, c.modes, {}, SpectralTransform::kFft});
    SpectralConv dft(SpectralConvOptions{3, 4, c.modes, {}, SpectralTransform::kDft});
    dft->weight.data().copy_(fft->weight.data());
    torch::Tensor x1 = torch::randn(shape_of(c, 3)).requires_grad_(true);
    torch::Tensor x2 = x1.detach().clone().requires_grad_(true);
    torch::Tensor y1 = fft->forward(x1), y2 = dft->forward(x2);
    EXPECT_LT(relative(y2, y1), 1e-5);
    torch::Tensor g = torch::randn_like(y1);
    (y1 * g).sum().backward();
    (y2 * g).sum().backward();
    EXPECT_LT(relative(x2.grad(), x1.grad()), 1e-5);
    EXPECT_LT(relative(dft->weight.grad(), fft->weight.grad()), 1e-5);
  }
}

TEST(TruncatedDft, RefusesAGridItWasNotBuiltFor) {
  auto dft = std::make_shared<const TruncatedDft>(std::vector<int64_t>{16, 16}, std::vector<int>{4, 4},
                                                  torch::TensorOptions(torch::kFloat32));
  try {
    fourmi::models::truncated_dft(dft, torch::randn({1, 1, 16, 12}));
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("built for grid 16x16"), std::string::npos) << e.what();
  }
}

TEST(TruncatedDft, RefusesModesBeyondHalfTheGrid) {
  try {
    TruncatedDft dft({10, 12}, {6, 4}, torch::TensorOptions(torch::kFloat32));
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("6 modes along axis 0 of a 10-point grid; accepted: 1 to 5"),
              std::string::npos)
        << e.what();
  }
}

// On a GPU: the DFT layer against the FFT layer with fp32 GEMMs (1e-5) and with TF32 ones, whose
// 10-bit mantissa bounds the difference at about 1e-2 relative over these sums.
TEST(TruncatedDft, OnCudaMatchesTheFftLayerInFp32AndTf32) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device gpu(torch::kCUDA, 0);
  const bool tf32_before = at::globalContext().allowTF32CuBLAS();
  for (bool tf32 : {false, true}) {
    at::globalContext().setAllowTF32CuBLAS(tf32);
    const double tol = tf32 ? 1e-2 : 1e-5;
    for (const auto& c : kCases) {
      torch::manual_seed(5);
      SpectralConv fft(SpectralConvOptions{8, 8, c.modes, {}, SpectralTransform::kFft});
      SpectralConv dft(SpectralConvOptions{8, 8, c.modes, {}, SpectralTransform::kDft});
      dft->weight.data().copy_(fft->weight.data());
      fft->to(gpu);
      dft->to(gpu);
      torch::Tensor x1 = torch::randn(shape_of(c, 8), torch::TensorOptions().device(gpu)).requires_grad_(true);
      torch::Tensor x2 = x1.detach().clone().requires_grad_(true);
      torch::Tensor y1 = fft->forward(x1), y2 = dft->forward(x2);
      EXPECT_LT(relative(y2, y1), tol) << (tf32 ? "tf32" : "fp32");
      torch::Tensor g = torch::randn_like(y1);
      (y1 * g).sum().backward();
      (y2 * g).sum().backward();
      EXPECT_LT(relative(x2.grad(), x1.grad()), tol);
      EXPECT_LT(relative(dft->weight.grad(), fft->weight.grad()), tol);
    }
  }
  at::globalContext().setAllowTF32CuBLAS(tf32_before);
}
