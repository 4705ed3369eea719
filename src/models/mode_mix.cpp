// mode_mix.cpp — autograd wrapper over kernels/mode_mix.h, with torch::bmm as the portable path.
#include "fourmi/models/mode_mix.h"

#include <torch/torch.h>

#include <atomic>

#ifdef FOURMI_HAVE_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "fourmi/kernels/mode_mix.h"
#endif

namespace fourmi::models {
namespace {

std::atomic<bool> g_use_kernel{false};
// The kernel runs the products with the batch as rows (x·w, dy·w^H), the ones cuBLAS pads (16 rows
// in 32-row tiles). The weight gradient x^H·dy has Cin rows, which cuBLAS tiles without padding
// (1.05x the useful flops, bench/results/ncu_gemm_flops.json) and runs faster than the kernel, so
// it stays on cuBLAS. The fp32 path uses the thread-tile variant fastest on an H200 for those
// products (64x1 by 4x4, bench/results/mode_mix_h200.json); with TF32 allowed (run.tf32, the
// switch cuBLAS obeys too) the kernel's tensor-core path runs instead.
constexpr int kFp32Variant = 5;

#ifdef FOURMI_HAVE_CUDA_KERNELS
// C = A · opB(B) per batch entry; A [batch, m, k] and B contiguous complex64, B with the given layout.
torch::Tensor complex_gemm(const torch::Tensor& a, const torch::Tensor& b, int64_t b_k, int64_t b_n, bool conj_b, int64_t m,
                           int64_t n, int64_t k) {
  const int64_t batch = a.size(0);
  torch::Tensor c = torch::empty({batch, m, n}, a.options());
  kernels::BatchedComplexGemm g{batch,        m, n,   k,  a.data_ptr(), a.numel() / std::max<int64_t>(batch, 1), k, 1, false,
                                b.data_ptr(), b.numel() / std::max<int64_t>(batch, 1), b_k, b_n, conj_b, c.data_ptr(), kFp32Variant,
                                /*tf32=*/at::globalContext().allowTF32CuBLAS()};
  c10::cuda::CUDAGuard guard(a.device());
  kernels::batched_complex_gemm(g, c10::cuda::getCurrentCUDAStream(a.device().index()).stream());
  return c;
}

struct ModeMixKernel : public torch::autograd::Function<ModeMixKernel> {
  // x [T, B, Cin] complex64; w_real [T, Cin, Cout, 2] float32.
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w_real) {
    torch::Tensor xc = x.contiguous(), wc = torch::view_as_complex(w_real.contiguous());
    ctx->save_for_backward({xc, w_real});
    const int64_t batch = xc.size(1), cin = xc.size(2), cout = wc.size(2);
    return complex_gemm(xc, wc, cout, 1, false, batch, cout, cin);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    torch::Tensor w = torch::view_as_complex(saved[1].contiguous());
    torch::Tensor go = grads[0].contiguous();
    const int64_t batch = x.size(1), cin = x.size(2), cout = w.size(2);
    torch::Tensor dx, dw;
    if (ctx->needs_input_grad(0))  // dx[t] = go[t] · w[t]^H
      dx = complex_gemm(go, w, 1, cout, true, batch, cin, cout);
    if (ctx->needs_input_grad(1))  // dw[t] = x[t]^H · go[t]
      dw = torch::view_as_real(torch::bmm(x.conj().transpose(1, 2), go).resolve_conj());
    return {dx, dw};
  }
};
#endif

}  // namespace

void set_mode_mix_kernel(bool on) { g_use_kernel.store(on); }

bool mode_mix_uses_kernel(const torch::Device& device) {
#ifdef FOURMI_HAVE_CUDA_KERNELS
  return device.is_cuda() && g_use_kernel.load();
#else
  (void)device;
  return false;
#endif
}

torch::Tensor mode_mix(const torch::Tensor& x, const torch::Tensor& weight_real) {
#ifdef FOURMI_HAVE_CUDA_KERNELS
  if (mode_mix_uses_kernel(x.device()) && x.scalar_type() == torch::kComplexFloat && weight_real.scalar_type() == torch::kFloat32)
    return ModeMixKernel::apply(x, weight_real);
#endif
  return torch::bmm(x, torch::view_as_complex(weight_real));
}

}  // namespace fourmi::models
