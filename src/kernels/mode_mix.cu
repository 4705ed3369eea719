// mode_mix.cu — batched small complex GEMM for the spectral layers' per-mode channel mixing.
//
// One block computes a 16 x 64 tile of C for one batch entry (mode): 32 threads along n and
// 4 along m, each thread 4 rows of two columns (n and n + 32), in registers. The k loop runs over chunks of 16;
// a chunk of B (16 x 64) and of A (16 x 16) is staged in shared memory with reads along whichever
// index is contiguous, so the forward (w[t] read along Cout), the input gradient (w[t] read along
// Cin) and the weight gradient (x[t] read along Cin) all load coalesced. A's values are read by
// all threads of a warp at once (a broadcast). Rows, columns and k past the matrix edge are
// predicated off, so the kernel executes exactly 8·m·n·k flops.
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "fourmi/kernels/mode_mix.h"

namespace fourmi::kernels {
namespace {

constexpr int kChunkK = 16;

__device__ __forceinline__ float2 load(const float2* p, bool conj) {
  float2 v = __ldg(p);
  if (conj) v.y = -v.y;
  return v;
}

// kThreadsN x kThreadsM threads; each computes kRowsPerThread x kColsPerThread outputs.
template <int kThreadsN, int kColsPerThread, int kThreadsM, int kRowsPerThread>
__global__ void __launch_bounds__(kThreadsN* kThreadsM) batched_cgemm(BatchedComplexGemm g) {
  constexpr int kTileN = kThreadsN * kColsPerThread, kTileM = kThreadsM * kRowsPerThread, kThreads = kThreadsN * kThreadsM;
  __shared__ float2 tile_a[kTileM][kChunkK + 1];
  __shared__ float2 tile_b[kChunkK][kTileN + 1];
  const auto* a = static_cast<const float2*>(g.a);
  const auto* b = static_cast<const float2*>(g.b);
  auto* c = static_cast<float2*>(g.c);
  const int64_t t = blockIdx.z;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsN + tx;
  const int64_t n_base = static_cast<int64_t>(blockIdx.x) * kTileN, m_base = static_cast<int64_t>(blockIdx.y) * kTileM;
  const int64_t m0 = m_base + ty * kRowsPerThread;
  const int64_t rows_left = g.m - m0;
  const int rows = rows_left <= 0 ? 0 : (rows_left < kRowsPerThread ? static_cast<int>(rows_left) : kRowsPerThread);
  bool col_live[kColsPerThread];
#pragma unroll
  for (int j = 0; j < kColsPerThread; ++j) col_live[j] = n_base + tx + j * kThreadsN < g.n && rows > 0;
  float2 acc[kRowsPerThread][kColsPerThread];
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r)
#pragma unroll
    for (int j = 0; j < kColsPerThread; ++j) acc[r][j] = make_float2(0.f, 0.f);
  const float2* a_t = a + t * g.a_batch;
  const float2* b_t = b + t * g.b_batch;
  const bool b_along_n = g.b_n == 1;  // else B is read along k
  const bool a_along_k = g.a_k == 1;  // else A is read along m
  for (int64_t k0 = 0; k0 < g.k; k0 += kChunkK) {
    // Stage B[k0 .. +16, n_base .. +64] and A[m_base .. +16, k0 .. +16], each read along its
    // contiguous index.
    for (int e = tid; e < kChunkK * kTileN; e += kThreads) {
      const int kk = b_along_n ? e / kTileN : e % kChunkK;
      const int nn = b_along_n ? e % kTileN : e / kChunkK;
      const int64_t gk = k0 + kk, gn = n_base + nn;
      tile_b[kk][nn] = (gk < g.k && gn < g.n) ? load(b_t + gk * g.b_k + gn * g.b_n, g.conj_b) : make_float2(0.f, 0.f);
    }
    for (int e = tid; e < kTileM * kChunkK; e += kThreads) {
      const int mm = a_along_k ? e / kChunkK : e % kTileM;
      const int kk = a_along_k ? e % kChunkK : e / kTileM;
      const int64_t gm = m_base + mm, gk = k0 + kk;
      tile_a[mm][kk] = (gm < g.m && gk < g.k) ? load(a_t + gm * g.a_m + gk * g.a_k, g.conj_a) : make_float2(0.f, 0.f);
    }
    __syncthreads();
    const int chunk = g.k - k0 < kChunkK ? static_cast<int>(g.k - k0) : kChunkK;
#pragma unroll
    for (int kk = 0; kk < kChunkK; ++kk) {
      if (kk < chunk) {
        float2 bv[kColsPerThread];
#pragma unroll
        for (int j = 0; j < kColsPerThread; ++j) bv[j] = tile_b[kk][tx + j * kThreadsN];
#pragma unroll
        for (int r = 0; r < kRowsPerThread; ++r) {
          const float2 av = tile_a[ty * kRowsPerThread + r][kk];
#pragma unroll
          for (int j = 0; j < kColsPerThread; ++j) {
            if (r < rows && col_live[j]) {  // predicated off past the edge: no padding arithmetic
              acc[r][j].x = fmaf(av.x, bv[j].x, acc[r][j].x);
              acc[r][j].x = fmaf(-av.y, bv[j].y, acc[r][j].x);
              acc[r][j].y = fmaf(av.x, bv[j].y, acc[r][j].y);
              acc[r][j].y = fmaf(av.y, bv[j].x, acc[r][j].y);
            }
          }
        }
      }
    }
    __syncthreads();
  }
  float2* c_t = c + t * g.m * g.n;
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r)
#pragma unroll
    for (int j = 0; j < kColsPerThread; ++j)
      if (r < rows && col_live[j]) c_t[(m0 + r) * g.n + n_base + tx + j * kThreadsN] = acc[r][j];
}


template <int kThreadsN, int kColsPerThread, int kThreadsM, int kRowsPerThread>
void launch(const BatchedComplexGemm& g, cudaStream_t stream) {
  constexpr int kTileN = kThreadsN * kColsPerThread, kTileM = kThreadsM * kRowsPerThread;
  dim3 block(kThreadsN, kThreadsM);
  // Batch entries beyond gridDim.z's limit (65535) are launched in slices.
  for (int64_t first = 0; first < g.batch; first += 65535) {
    BatchedComplexGemm part = g;
    part.batch = std::min<int64_t>(65535, g.batch - first);
    part.a = static_cast<const float2*>(g.a) + first * g.a_batch;
    part.b = static_cast<const float2*>(g.b) + first * g.b_batch;
    part.c = static_cast<float2*>(g.c) + first * g.m * g.n;
    dim3 grid(static_cast<unsigned>((g.n + kTileN - 1) / kTileN), static_cast<unsigned>((g.m + kTileM - 1) / kTileM),
              static_cast<unsigned>(part.batch));
    batched_cgemm<kThreadsN, kColsPerThread, kThreadsM, kRowsPerThread><<<grid, block, 0, stream>>>(part);
  }
}

}  // namespace

const char* complex_gemm_variant_name(int variant) {
  static const char* names[kComplexGemmVariants] = {"32x2 by 4x4 (16x64 tile, 128 threads)", "16x4 by 4x4 (16x64 tile, 64 threads)",
                                                    "32x2 by 2x8 (16x64 tile, 64 threads)", "16x4 by 2x8 (16x64 tile, 32 threads)",
                                                    "32x2 by 8x4 (32x64 tile, 256 threads)", "64x1 by 4x4 (16x64 tile, 256 threads)"};
  return variant >= 0 && variant < kComplexGemmVariants ? names[variant] : "unknown";
}

void batched_complex_gemm(const BatchedComplexGemm& g, void* stream_ptr) {
  if (g.batch == 0 || g.m == 0 || g.n == 0) return;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  switch (g.variant) {
    case 0: launch<32, 2, 4, 4>(g, stream); break;
    case 1: launch<16, 4, 4, 4>(g, stream); break;
    case 2: launch<32, 2, 2, 8>(g, stream); break;
    case 3: launch<16, 4, 2, 8>(g, stream); break;
    case 4: launch<32, 2, 8, 4>(g, stream); break;
    case 5: launch<64, 1, 4, 4>(g, stream); break;
    default: throw std::invalid_argument("batched_complex_gemm: unknown variant " + std::to_string(g.variant));
  }
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) throw std::runtime_error(std::string("batched_complex_gemm: launch failed: ") + cudaGetErrorString(err));
}

}  // namespace fourmi::kernels
