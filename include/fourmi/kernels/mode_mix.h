// mode_mix.h — the per-mode complex channel mixing of a spectral layer as one CUDA kernel.
//
// For every retained mode t, out[t] = x[t] · w[t] with x [T, B, Cin], w [T, Cin, Cout] and
// out [T, B, Cout] complex64. cuBLAS's batched complex GEMM tiles the B rows in blocks of 32,
// so with the FNO's small per-GPU batches (16 in `large`) half of the multiply-adds it issues
// are padding; this kernel's fp32 path issues exactly 8·B·Cin·Cout flops per mode, which is what
// the profile's analytic counts assume. Its TF32 path uses wmma 16x16x8 tiles, which a batch of
// 16 rows fills exactly.
//
// Contract: the functions take raw device pointers and run on `stream` (the caller's current
// stream); they do not synchronise. Compiled only in CUDA builds (FOURMI_HAVE_CUDA_KERNELS).
#pragma once

#include <cstdint>

namespace fourmi::kernels {

// C[t, m, n] = sum_k opA(A)[t, m, k] · opB(B)[t, k, n] over complex64 values stored as float
// pairs, with element strides (in complex elements) for every index and optional conjugation.
struct BatchedComplexGemm {
  int64_t batch, m, n, k;
  const void* a;
  int64_t a_batch, a_m, a_k;
  bool conj_a;
  const void* b;
  int64_t b_batch, b_k, b_n;
  bool conj_b;
  void* c;            // contiguous [batch, m, n]
  int variant = 0;    // thread-tile shape, 0 .. kComplexGemmVariants-1 (complex_gemm_variant_name)
  bool tf32 = false;  // TF32 tensor cores (wmma, inputs rounded to TF32) instead of fp32 FMAs; ignores variant
};

constexpr int kComplexGemmVariants = 6;
const char* complex_gemm_variant_name(int variant);

// Launches on `stream` (a cudaStream_t); throws std::runtime_error on a launch failure.
void batched_complex_gemm(const BatchedComplexGemm& g, void* stream);

}  // namespace fourmi::kernels
