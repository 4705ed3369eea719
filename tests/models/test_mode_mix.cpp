// mode_mix: fourmi's CUDA kernel gives cuBLAS's batched GEMM values and gradients (GPU only;
// skipped on machines without a GPU, run on the GPU machine by bench/gpu_profile_scaling.sh).
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <tuple>

#include "fourmi/models/mode_mix.h"

using fourmi::models::mode_mix;
using fourmi::models::set_mode_mix_kernel;

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
    set_mode_mix_kernel(kernel);
    torch::Tensor x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    torch::Tensor y = mode_mix(x, w);
    y.backward(go);
    out.push_back(y.detach());
    dx.push_back(x.grad());
    dw.push_back(w.grad());
  }
  set_mode_mix_kernel(false);  // the default
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

#ifdef FOURMI_HAVE_CUDA_KERNELS
#include <c10/cuda/CUDAStream.h>

#include "fourmi/kernels/mode_mix.h"

// Every thread-tile variant of the kernel, on all three products (plain, conj-transposed B,
// conj-transposed A), with edges that do not divide the tiles.
TEST(ModeMixKernel, EveryVariantMatchesBatchedGemm) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU here";
  at::globalContext().setAllowTF32CuBLAS(false);
  auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kComplexFloat);
  const int64_t t = 13, b = 7, ci = 37, co = 70;
  torch::Tensor x = torch::randn({t, b, ci}, opts), w = torch::randn({t, ci, co}, opts), dy = torch::randn({t, b, co}, opts);
  struct Case {
    torch::Tensor a, bm, ref;
    int64_t a_m, a_k, b_k, b_n, m, n, k;
    bool conj_a, conj_b;
  };
  const Case cases[] = {{x, w, torch::bmm(x, w), ci, 1, co, 1, b, co, ci, false, false},
                        {dy, w, torch::bmm(dy, w.conj().transpose(1, 2)).resolve_conj(), co, 1, 1, co, b, ci, co, false, true},
                        {x, dy, torch::bmm(x.conj().transpose(1, 2), dy).resolve_conj(), 1, ci, co, 1, ci, co, b, true, false}};
  for (int v = 0; v < fourmi::kernels::kComplexGemmVariants; ++v) {
    for (size_t ci_ = 0; ci_ < 3; ++ci_) {
      const Case& c = cases[ci_];
      torch::Tensor out = torch::empty({t, c.m, c.n}, opts);
      fourmi::kernels::BatchedComplexGemm g{t, c.m, c.n, c.k, c.a.data_ptr(), c.a.numel() / t, c.a_m, c.a_k, c.conj_a,
                                            c.bm.data_ptr(), c.bm.numel() / t, c.b_k, c.b_n, c.conj_b, out.data_ptr(), v};
      fourmi::kernels::batched_complex_gemm(g, c10::cuda::getCurrentCUDAStream().stream());
      EXPECT_LT(rel(out, c.ref), 1e-5) << "variant " << fourmi::kernels::complex_gemm_variant_name(v) << ", product " << ci_;
    }
  }
}

// The tensor-core path (TF32 inputs, fp32 accumulation) against the fp32 product: TF32 keeps 10
// mantissa bits, so the products agree to about 1e-3 relative.
// Shapes: (modes, batch, Cin, Cout): whole 16-row tiles with partial 64-column tiles, k beyond one
// 32-wide chunk, and edges that divide nothing.
class ModeMixTf32 : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, int64_t>> {};

TEST_P(ModeMixTf32, Tf32PathMatchesFp32ProductToTf32Precision) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU here";
  at::globalContext().setAllowTF32CuBLAS(false);
  auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kComplexFloat);
  const auto [t, b, ci, co] = GetParam();
  torch::Tensor x = torch::randn({t, b, ci}, opts), w = torch::randn({t, ci, co}, opts), dy = torch::randn({t, b, co}, opts);
  struct Case {
    torch::Tensor a, bm, ref;
    int64_t a_m, a_k, b_k, b_n, m, n, k;
    bool conj_a, conj_b;
  };
  const Case cases[] = {{x, w, torch::bmm(x, w), ci, 1, co, 1, b, co, ci, false, false},
                        {dy, w, torch::bmm(dy, w.conj().transpose(1, 2)).resolve_conj(), co, 1, 1, co, b, ci, co, false, true},
                        {x, dy, torch::bmm(x.conj().transpose(1, 2), dy).resolve_conj(), 1, ci, co, 1, ci, co, b, true, false}};
  for (size_t k = 0; k < 3; ++k) {
    const Case& c = cases[k];
    torch::Tensor out = torch::empty({t, c.m, c.n}, opts);
    fourmi::kernels::BatchedComplexGemm g{t, c.m, c.n, c.k, c.a.data_ptr(), c.a.numel() / t, c.a_m, c.a_k, c.conj_a,
                                          c.bm.data_ptr(), c.bm.numel() / t, c.b_k, c.b_n, c.conj_b, out.data_ptr(), 0, /*tf32=*/true};
    fourmi::kernels::batched_complex_gemm(g, c10::cuda::getCurrentCUDAStream().stream());
    const double r = rel(out, c.ref);
    EXPECT_LT(r, 5e-3) << "product " << k;
    EXPECT_GT(r, 0.0) << "product " << k << ": TF32 rounding should show";
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ModeMixTf32,
                         ::testing::Values(std::make_tuple(5, 32, 48, 56), std::make_tuple(5, 32, 64, 104), std::make_tuple(9, 19, 70, 37)));
#endif
