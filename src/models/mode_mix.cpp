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
// Thread-tile variant of the kernel's fp32 path per product (kernels::complex_gemm_variant_name);
// -1 runs the product on cuBLAS instead. The products with the batch as rows (x·w, dy·w^H) are the
// ones cuBLAS pads (16 rows in 32-row tiles); the weight gradient x^H·dy has Cin rows, which cuBLAS
// tiles without padding (1.05x the useful flops, bench/results/ncu_gemm_flops.json) and runs faster
// than the kernel, so it stays on cuBLAS. With TF32 allowed (run.tf32, the switch cuBLAS obeys
// too) the kernel's tensor-core path runs instead of the fp32 variant.
constexpr int kForwardVariant = 5, kInputGradVariant = 5, kWeightGradVariant = -1;

#ifdef FOURMI_HAVE_CUDA_KERNELS
// C = opA(A) · opB(B) per batch entry; A, B contiguous complex64 with the given layouts.
torch::Tensor complex_gemm(int variant, const torch::Tensor& a, int64_t a_m, int64_t a_k, bool conj_a, const torch::Tensor& b,
                           int64_t b_k, int64_t b_n, bool conj_b, int64_t m, int64_t n, int64_t k) {
  const int64_t batch = a.size(0);
  torch::Tensor c = torch::empty({batch, m, n}, a.options());
  kernels::BatchedComplexGemm g{batch,        m, n,   k,  a.data_ptr(), a.numel() / std::max<int64_t>(batch, 1), a_m, a_k, conj_a,
                                b.data_ptr(), b.numel() / std::max<int64_t>(batch, 1), b_k, b_n, conj_b, c.data_ptr(), variant,
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
    if (kForwardVariant < 0) return torch::bmm(xc, wc);
    return complex_gemm(kForwardVariant, xc, cin, 1, false, wc, cout, 1, false, batch, cout, cin);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    torch::Tensor w = torch::view_as_complex(saved[1].contiguous());
    torch::Tensor go = grads[0].contiguous();
    const int64_t batch = x.size(1), cin = x.size(2), cout = w.size(2);
    torch::Tensor dx, dw;
    if (ctx->needs_input_grad(0))  // dx[t] = go[t] · w[t]^H
      dx = kInputGradVariant < 0 ? torch::bmm(go, w.conj().transpose(1, 2))
                                 : complex_gemm(kInputGradVariant, go, cout, 1, false, w, 1, cout, true, batch, cin, cout);
    if (ctx->needs_input_grad(1))  // dw[t] = x[t]^H · go[t]
      dw = torch::view_as_real(kWeightGradVariant < 0
                                   ? torch::bmm(x.conj().transpose(1, 2), go).resolve_conj()
                                   : complex_gemm(kWeightGradVariant, x, 1, cin, true, go, cout, 1, false, cin, cout, batch));
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
