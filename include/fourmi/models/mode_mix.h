// mode_mix.h — per-mode channel mixing of a spectral layer, differentiable.
//
// mode_mix(x, w) returns out[t] = x[t] · w[t] for x [T, B, Cin] complex64 and the layer's real
// weight [T, Cin, Cout, 2] viewed as complex. On CUDA tensors of a build with fourmi's kernels,
// with MixImpl::kKernel (`fourmi-bench-dp --mix-kernel`), the forward and the input gradient
// run on kernels/mode_mix.h (TF32 tensor cores when cuBLAS may use TF32, fp32 FMAs otherwise) and
// the weight gradient on cuBLAS; otherwise (the default) all three on torch::bmm. cuBLAS is a
// little faster (bench/results/mode_mix_h200.json); the kernel executes exactly the useful
// arithmetic, so the profile's FLOP counts are what the hardware does. Both give the same values
// and gradients (complex autograd's convention: dx = dout · w^H, dw = x^H · dout).
//
// `weight_grad_into`, when set, is asked during backward where the weight gradient should be
// written: a float32 tensor shaped like the weight, contiguous, at an even element offset (a slice
// of a gradient bucket), or an undefined tensor to allocate one. The product is computed straight
// into it and handed to autograd, which keeps it as the weight's `.grad` without a copy when the
// weight has no gradient yet.
#pragma once

#include <torch/types.h>

#include <functional>

namespace fourmi::models {

using GradDestination = std::function<torch::Tensor()>;

// Who computes the mixing of CUDA tensors: cuBLAS's batched GEMM, or fourmi's kernel.
enum class MixImpl { kCublas, kKernel };

torch::Tensor mode_mix(const torch::Tensor& x, const torch::Tensor& weight_real,
                       const GradDestination& weight_grad_into = {}, MixImpl impl = MixImpl::kCublas);
// Whether mode_mix with `impl` runs fourmi's kernel for tensors on `device` (a build with kernels).
bool mode_mix_uses_kernel(const torch::Device& device, MixImpl impl);

}  // namespace fourmi::models
