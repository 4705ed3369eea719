// mode_mix: fourmi's CUDA kernel gives cuBLAS's batched GEMM values and gradients (GPU only;
// skipped on machines without a GPU; `ctest -L gpu` runs it on the GPU machine).
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <tuple>

#include "fourmi/models/mode_mix.h"

using fourmi::models::MixImpl;
using fourmi::models::mode_mix;

namespace {

double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1e-30, b.abs().max().item<double>());
}

}  // namespace

class ModeMixShapes : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, int64_t>> {};

TEST_P(ModeMixShapes, KernelMatchesBatchedGemmForwardAndBackward) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU here";
  const auto [modes, batch, cin, cout] = GetParam();
  torch::manual_seed(3);
  auto opts = torch::TensorOptions().device(torch::kCUDA);
  torch::Tensor x0 = torch::randn({modes, batch, cin}, opts.dtype(torch::kComplexFloat));
  torch::Tensor w0 = torch::randn({modes, cin, cout, 2}, opts);
  torch::Tensor go = torch::randn({modes, batch, cout}, opts.dtype(torch::kComplexFloat));
  at::globalContext().setAllowTF32CuBLAS(false);
  std::vector<torch::Tensor> out, dx, dw;
  for (bool kernel : {true, false}) {
    torch::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    torch::Tensor y = mode_mix(x, w, {}, kernel ? MixImpl::kKernel : MixImpl::kCublas);
    y.backward(go);
    out.push_back(y.detach());
    dx.push_back(x.grad());
    dw.push_back(w.grad());
  }
  ASSERT_EQ(out[0].sizes(), out[1].sizes());
  EXPECT_LT(rel(out[0], out[1]), 1e-5);
  EXPECT_LT(rel(dx[0], dx[1]), 1e-5);
  EXPECT_LT(rel(dw[0], dw[1]), 1e-5);
  EXPECT_EQ(dw[0].sizes(), w0.sizes());
}

// Uneven tiles (rows, columns and k chunks that do not divide), the FNO-2D `large` layer shape.
INSTANTIATE_TEST_SUITE_P(Shapes, ModeMixShapes,
                         ::testing::Values(std::make_tuple(37, 5, 19, 23), std::make_tuple(3, 1, 1, 1),
                                           std::make_tuple(11, 33, 70, 130), std::make_tuple(2048, 16, 64, 64)));

// Backward writes the weight gradient into the destination it is given (any device): the same
// values as without one, in that tensor's memory, which autograd keeps as `.grad`.
TEST(ModeMix, WeightGradientGoesWhereItIsTold) {
  torch::manual_seed(5);
  torch::Tensor x0 = torch::randn({7, 3, 4}, torch::kComplexFloat), go = torch::randn({7, 3, 5}, torch::kComplexFloat);
  torch::Tensor w0 = torch::randn({7, 4, 5, 2});
  torch::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
  mode_mix(x, w).backward(go);
  torch::Tensor bucket =
      torch::full({4 + w0.numel()}, 7.0f);  // the destination at an even, 16-byte aligned offset of a larger buffer
  int asked = 0;
  torch::Tensor x2 = x0.clone().requires_grad_(true), w2 = w0.clone().requires_grad_(true);
  torch::Tensor y = mode_mix(x2, w2, [&] {
    ++asked;
    return bucket.narrow(0, 4, w0.numel())
        .view(w0.sizes());  // a new view, as a reducer hands out: autograd may keep it
  });
  EXPECT_TRUE(torch::equal(y, mode_mix(x0, w0)));
  y.backward(go);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(w2.grad().data_ptr(), static_cast<void*>(bucket.data_ptr<float>() + 4)) << "copied instead of kept";
  EXPECT_TRUE(torch::allclose(w2.grad(), w.grad(), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(x2.grad(), x.grad(), 1e-6, 1e-6));
  EXPECT_EQ(bucket[3].item<float>(), 7.0f) << "written outside the destination";
  // An undefined destination: a new tensor, as without one.
  torch::Tensor w3 = w0.clone().requires_grad_(true);
  mode_mix(x0, w3, [] { return torch::Tensor(); }).backward(go);
  EXPECT_TRUE(torch::allclose(w3.grad(), w.grad(), 1e-6, 1e-6));
}

TEST(ModeMix, UnusableDestinationIsAnErrorThatSaysWhatIsAccepted) {
  torch::Tensor x = torch::randn({2, 3, 4}, torch::kComplexFloat), w = torch::randn({2, 4, 5, 2}).requires_grad_(true);
  torch::Tensor wrong = torch::zeros({2, 4, 6, 2});
  try {
    mode_mix(x, w, [&] { return wrong; }).sum().abs().backward();
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("shaped like the weight"), std::string::npos) << e.what();
  }
}

#ifdef FOURMI_HAVE_CUDA_KERNELS
#include <c10/cuda/CUDAStream.h>

#include "fourmi/kernels/mode_mix.h"

namespace {

// The three products of a layer (x.w, dy.w^H, x^H.dy) on random data of shape (modes, batch, Cin,
// Cout), each with its cuBLAS fp32 reference and the layout the kernel is given.
struct ProductCase {
  torch::Tensor a, b, ref;
  int64_t a_m, a_k, b_k, b_n, m, n, k;
  bool conj_a, conj_b;
};

std::vector<ProductCase> three_products(int64_t t, int64_t b, int64_t ci, int64_t co) {
  at::globalContext().setAllowTF32CuBLAS(false);
  auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kComplexFloat);
  torch::Tensor x = torch::randn({t, b, ci}, opts), w = torch::randn({t, ci, co}, opts),
                dy = torch::randn({t, b, co}, opts);
  return {{x, w, torch::bmm(x, w), ci, 1, co, 1, b, co, ci, false, false},
          {dy, w, torch::bmm(dy, w.conj().transpose(1, 2)).resolve_conj(), co, 1, 1, co, b, ci, co, false, true},
          {x, dy, torch::bmm(x.conj().transpose(1, 2), dy).resolve_conj(), 1, ci, co, 1, ci, co, b, true, false}};
}

torch::Tensor run_kernel(const ProductCase& c, int variant, bool tf32) {
  const int64_t t = c.a.size(0);
  torch::Tensor out = torch::empty({t, c.m, c.n}, c.a.options());
  fourmi::kernels::BatchedComplexGemm g{t,
                                        c.m,
                                        c.n,
                                        c.k,
                                        c.a.data_ptr(),
                                        c.a.numel() / t,
                                        c.a_m,
                                        c.a_k,
                                        c.conj_a,
                                        c.b.data_ptr(),
                                        c.b.numel() / t,
                                        c.b_k,
                                        c.b_n,
                                        c.conj_b,
                                        out.data_ptr(),
                                        variant,
                                        tf32};
  fourmi::kernels::batched_complex_gemm(g, c10::cuda::getCurrentCUDAStream().stream());
  return out;
}

}  // namespace

// Every thread-tile variant of the kernel's fp32 path, on all three products (plain,
// conj-transposed B, conj-transposed A), with edges that do not divide the tiles.
TEST(ModeMixKernel, EveryVariantMatchesBatchedGemm) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU here";
  const auto cases = three_products(13, 7, 37, 70);
  for (int v = 0; v < fourmi::kernels::kComplexGemmVariants; ++v)
    for (size_t p = 0; p < cases.size(); ++p)
      EXPECT_LT(rel(run_kernel(cases[p], v, false), cases[p].ref), 1e-5)
          << "variant " << fourmi::kernels::complex_gemm_variant_name(v) << ", product " << p;
}

// The tensor-core path (TF32 inputs, fp32 accumulation) against the fp32 product: TF32 keeps 10
// mantissa bits, so the products agree to about 1e-3 relative.
// Shapes: (modes, batch, Cin, Cout): whole 16-row tiles with partial 64-column tiles, k beyond one
// 32-wide chunk, and edges that divide nothing.
class ModeMixTf32 : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, int64_t>> {};

TEST_P(ModeMixTf32, Tf32PathMatchesFp32ProductToTf32Precision) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU here";
  const auto [t, b, ci, co] = GetParam();
  const auto cases = three_products(t, b, ci, co);
  for (size_t p = 0; p < cases.size(); ++p) {
    const double r = rel(run_kernel(cases[p], 0, true), cases[p].ref);
    EXPECT_LT(r, 5e-3) << "product " << p;
    EXPECT_GT(r, 0.0) << "product " << p << ": TF32 rounding should show";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ModeMixTf32,
                         ::testing::Values(std::make_tuple(5, 32, 48, 56), std::make_tuple(5, 32, 64, 104),
                                           std::make_tuple(9, 19, 70, 37)));
#endif
