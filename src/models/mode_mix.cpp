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

// The kernel runs the products with the batch as rows (x·w, dy·w^H), the ones cuBLAS pads (16 rows
// in 32-row tiles). The weight gradient x^H·dy has Cin rows, which cuBLAS tiles without padding
// (1.05x the useful flops, bench/results/ncu_gemm_flops.json) and runs faster than the kernel, so
// it stays on cuBLAS. The fp32 path uses the thread-tile variant fastest on an H200 for those
// products (64x1 by 4x4, bench/results/mode_mix_h200.json); with TF32 allowed (run.tf32, the
// switch cuBLAS obeys too) the kernel's tensor-core path runs instead.
constexpr int kFp32Variant = 5;

#ifdef FOURMI_HAVE_CUDA_KERNELS
// C = A · opB(B) per batch entry; A [batch, m, k] and B contiguous complex64, B with the given layout.
torch::Tensor complex_gemm(const torch::Tensor& a, const torch::Tensor& b, int64_t b_k, int64_t b_n, bool conj_b,
                           int64_t m, int64_t n, int64_t k) {
  const int64_t batch = a.size(0);
  torch::Tensor c = torch::empty({batch, m, n}, a.options());
  kernels::BatchedComplexGemm g{batch,
                                m,
                                n,
                                k,
                                a.data_ptr(),
                                a.numel() / std::max<int64_t>(batch, 1),
                                k,
                                1,
                                false,
                                b.data_ptr(),
                                b.numel() / std::max<int64_t>(batch, 1),
                                b_k,
                                b_n,
                                conj_b,
                                c.data_ptr(),
                                kFp32Variant,
                                /*tf32=*/at::globalContext().allowTF32CuBLAS()};
  c10::cuda::CUDAGuard guard(a.device());
  kernels::batched_complex_gemm(g, c10::cuda::getCurrentCUDAStream(a.device().index()).stream());
  return c;
}

#endif

// Keeps a GradDestination from forward to backward (autograd's saved_data holds IValues).
struct DestinationHolder : torch::CustomClassHolder {
  explicit DestinationHolder(GradDestination f) : fn(std::move(f)) {}
  GradDestination fn;
};

// dw = x^H · dout, computed into `into` when the caller gave a destination.
torch::Tensor weight_gradient(const torch::Tensor& x, const torch::Tensor& go, const torch::Tensor& w_real,
                              const torch::Tensor& into) {
  torch::Tensor xh = x.conj().transpose(1, 2);
  if (!into.defined()) return torch::view_as_real(torch::bmm(xh, go).resolve_conj());
  if (into.sizes() != w_real.sizes() || into.scalar_type() != torch::kFloat32 || into.device() != w_real.device() ||
      !into.is_contiguous() || into.storage_offset() % 2 != 0)
    throw std::invalid_argument(
        "mode_mix: the weight gradient's destination must be a contiguous float32 tensor shaped like the weight, "
        "on its device, at an even element offset");
  torch::Tensor out = torch::view_as_complex(into);
  at::bmm_out(out, xh, go);
  return into;
}

// out[t] = x[t] · w[t]; x [T, B, Cin] complex64, w_real [T, Cin, Cout, 2] float32. `kernel`: fourmi's
// kernel for the product and the input gradient (CUDA builds only), else torch::bmm.
struct ModeMix : public torch::autograd::Function<ModeMix> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& w_real, bool kernel, const GradDestination& weight_grad_into) {
    torch::Tensor xc = x.contiguous(), wc = torch::view_as_complex(w_real.contiguous());
    ctx->save_for_backward({xc, w_real});
    ctx->saved_data["kernel"] = kernel;
    if (weight_grad_into)
      ctx->saved_data["into"] = c10::IValue::make_capsule(c10::make_intrusive<DestinationHolder>(weight_grad_into));
#ifdef FOURMI_HAVE_CUDA_KERNELS
    if (kernel) return complex_gemm(xc, wc, wc.size(2), 1, false, xc.size(1), wc.size(2), xc.size(2));
#endif
    return torch::bmm(xc, wc);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    torch::Tensor w = torch::view_as_complex(saved[1].contiguous());
    torch::Tensor go = grads[0].contiguous();
    torch::Tensor dx, dw;
    if (ctx->needs_input_grad(0)) {  // dx[t] = go[t] · w[t]^H
#ifdef FOURMI_HAVE_CUDA_KERNELS
      if (ctx->saved_data["kernel"].toBool())
        dx = complex_gemm(go, w, 1, w.size(2), true, x.size(1), x.size(2), w.size(2));
#endif
      if (!dx.defined()) dx = torch::bmm(go, w.transpose(1, 2).conj()).resolve_conj();
    }
    if (ctx->needs_input_grad(1)) {  // dw[t] = x[t]^H · go[t]
      torch::Tensor into;
      auto it = ctx->saved_data.find("into");
      if (it != ctx->saved_data.end()) into = static_cast<DestinationHolder*>(it->second.toCapsule().get())->fn();
      dw = weight_gradient(x, go, saved[1], into);
    }
    return {dx, dw, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool mode_mix_uses_kernel(const torch::Device& device, MixImpl impl) {
#ifdef FOURMI_HAVE_CUDA_KERNELS
  return device.is_cuda() && impl == MixImpl::kKernel;
#else
  (void)device;
  (void)impl;
  return false;
#endif
}

torch::Tensor mode_mix(const torch::Tensor& x, const torch::Tensor& weight_real,
                       const GradDestination& weight_grad_into, MixImpl impl) {
  const bool kernel = mode_mix_uses_kernel(x.device(), impl) && x.scalar_type() == torch::kComplexFloat &&
                      weight_real.scalar_type() == torch::kFloat32;
  return ModeMix::apply(x, weight_real, kernel, weight_grad_into);
}

}  // namespace fourmi::models
