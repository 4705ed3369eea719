// mode_mix.cu — batched small complex GEMM for the spectral layers' per-mode channel mixing.
//
// fp32 path (batched_cgemm, six thread-tile variants): a block computes a tile of C for one batch
// entry (mode), each thread a few rows of one or two columns in registers. The k loop runs over
// chunks of 16; a chunk of B and of A is staged in shared memory with reads along whichever index
// is contiguous, so the forward (w[t] read along Cout), the input gradient (w[t] read along Cin)
// and the weight gradient (x[t] read along Cin) all load coalesced. A's values are read by all
// threads of a warp at once (a broadcast). Rows, columns and k past the matrix edge are predicated
// off, so this path executes exactly 8·m·n·k flops.
//
// TF32 path (batched_cgemm_tf32): wmma tensor-core tiles, described above the kernel.
#include <cuda_runtime.h>
#include <mma.h>

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

// Stages the kRows x kCols window at (r0, c0) of a strided complex matrix (element (r, c) at
// src[r * s_r + c * s_c], extent nr x nc) through store(r, c, value), kThreads threads reading
// along whichever index is contiguous; values past the extent are staged as zeros.
template <int kRows, int kCols, int kThreads, class Store>
__device__ __forceinline__ void stage_tile(const float2* src, int64_t s_r, int64_t s_c, int64_t r0, int64_t c0,
                                           int64_t nr, int64_t nc, bool conj, int tid, Store store) {
  const bool along_c = s_c == 1;
  for (int e = tid; e < kRows * kCols; e += kThreads) {
    const int r = along_c ? e / kCols : e % kRows;
    const int c = along_c ? e % kCols : e / kRows;
    const int64_t gr = r0 + r, gc = c0 + c;
    store(r, c, (gr < nr && gc < nc) ? load(src + gr * s_r + gc * s_c, conj) : make_float2(0.f, 0.f));
  }
}

// kThreadsN x kThreadsM threads; each computes kRowsPerThread x kColsPerThread outputs.
template <int kThreadsN, int kColsPerThread, int kThreadsM, int kRowsPerThread>
__global__ void __launch_bounds__(kThreadsN* kThreadsM) batched_cgemm(BatchedComplexGemm g) {
  constexpr int kTileN = kThreadsN * kColsPerThread, kTileM = kThreadsM * kRowsPerThread,
                kThreads = kThreadsN * kThreadsM;
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
  for (int64_t k0 = 0; k0 < g.k; k0 += kChunkK) {
    // Stage B[k0 .. +16, n_base .. +64] and A[m_base .. +16, k0 .. +16].
    stage_tile<kChunkK, kTileN, kThreads>(b_t, g.b_k, g.b_n, k0, n_base, g.k, g.n, g.conj_b, tid,
                                          [&](int r, int c, float2 v) { tile_b[r][c] = v; });
    stage_tile<kTileM, kChunkK, kThreads>(a_t, g.a_m, g.a_k, m_base, k0, g.m, g.k, g.conj_a, tid,
                                          [&](int r, int c, float2 v) { tile_a[r][c] = v; });
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

// TF32 tensor-core path: one block of 4 warps computes a 16 x 64 tile of C, each warp a 16 x 16
// tile, as Cr = Ar Br - Ai Bi and Ci = Ar Bi + Ai Br with wmma m16n16k8 (TF32 inputs, fp32
// accumulation). Chunks of 32 along k are staged in shared memory as separate real and imaginary
// planes (conjugation applied while staging); values past the edges are staged as zeros.
constexpr int kWmmaM = 16, kWmmaN = 64, kWmmaK = 32, kWmmaThreads = 128;

__global__ void __launch_bounds__(kWmmaThreads) batched_cgemm_tf32(BatchedComplexGemm g) {
  using namespace nvcuda;
  constexpr int lda = kWmmaK + 4, ldb = kWmmaN + 4;  // multiples of 4 floats, as wmma needs
  __shared__ __align__(32) float a_re[kWmmaM * lda], a_im[kWmmaM * lda];
  __shared__ __align__(32) float b_re[kWmmaK * ldb], b_im[kWmmaK * ldb];
  const auto* a = static_cast<const float2*>(g.a);
  const auto* b = static_cast<const float2*>(g.b);
  auto* c = static_cast<float2*>(g.c);
  const int64_t t = blockIdx.z;
  const int tid = threadIdx.x, warp = tid / 32;
  const int64_t n_base = static_cast<int64_t>(blockIdx.x) * kWmmaN, m_base = static_cast<int64_t>(blockIdx.y) * kWmmaM;
  const float2* a_t = a + t * g.a_batch;
  const float2* b_t = b + t * g.b_batch;
  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc_re, acc_im;
  wmma::fill_fragment(acc_re, 0.f);
  wmma::fill_fragment(acc_im, 0.f);
  for (int64_t k0 = 0; k0 < g.k; k0 += kWmmaK) {
    stage_tile<kWmmaM, kWmmaK, kWmmaThreads>(a_t, g.a_m, g.a_k, m_base, k0, g.m, g.k, g.conj_a, tid,
                                             [&](int r, int c, float2 v) {
                                               a_re[r * lda + c] = v.x;
                                               a_im[r * lda + c] = v.y;
                                             });
    stage_tile<kWmmaK, kWmmaN, kWmmaThreads>(b_t, g.b_k, g.b_n, k0, n_base, g.k, g.n, g.conj_b, tid,
                                             [&](int r, int c, float2 v) {
                                               b_re[r * ldb + c] = v.x;
                                               b_im[r * ldb + c] = v.y;
                                             });
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kWmmaK; kk += 8) {
      wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> ar, ai, ai_neg;
      wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> br, bi;
      wmma::load_matrix_sync(ar, a_re + kk, lda);
      wmma::load_matrix_sync(ai, a_im + kk, lda);
      wmma::load_matrix_sync(br, b_re + kk * ldb + warp * 16, ldb);
      wmma::load_matrix_sync(bi, b_im + kk * ldb + warp * 16, ldb);
#pragma unroll
      for (int i = 0; i < ar.num_elements; ++i) {
        ar.x[i] = wmma::__float_to_tf32(ar.x[i]);
        ai.x[i] = wmma::__float_to_tf32(ai.x[i]);
        ai_neg.x[i] = -ai.x[i];
      }
#pragma unroll
      for (int i = 0; i < br.num_elements; ++i) {
        br.x[i] = wmma::__float_to_tf32(br.x[i]);
        bi.x[i] = wmma::__float_to_tf32(bi.x[i]);
      }
      wmma::mma_sync(acc_re, ar, br, acc_re);
      wmma::mma_sync(acc_re, ai_neg, bi, acc_re);
      wmma::mma_sync(acc_im, ar, bi, acc_im);
      wmma::mma_sync(acc_im, ai, br, acc_im);
    }
    __syncthreads();
  }
  // Through shared memory (the B planes are free now) to interleaved, coalesced complex stores.
  wmma::store_matrix_sync(b_re + warp * 16, acc_re, ldb, wmma::mem_row_major);
  wmma::store_matrix_sync(b_im + warp * 16, acc_im, ldb, wmma::mem_row_major);
  __syncthreads();
  float2* c_t = c + t * g.m * g.n;
  for (int e = tid; e < kWmmaM * kWmmaN; e += kWmmaThreads) {
    const int mm = e / kWmmaN, nn = e % kWmmaN;
    const int64_t gm = m_base + mm, gn = n_base + nn;
    if (gm < g.m && gn < g.n) c_t[gm * g.n + gn] = make_float2(b_re[mm * ldb + nn], b_im[mm * ldb + nn]);
  }
}

// Launches `kernel` over every batch entry with `block` threads and a grid of tiles of
// tile_m x tile_n; batch entries beyond gridDim.z's limit (65535) go in further launches.
template <class Kernel>
void launch_tiles(Kernel kernel, const BatchedComplexGemm& g, int tile_m, int tile_n, dim3 block, cudaStream_t stream) {
  constexpr int64_t kMaxGridZ = 65535;
  for (int64_t first = 0; first < g.batch; first += kMaxGridZ) {
    BatchedComplexGemm part = g;
    part.batch = std::min<int64_t>(kMaxGridZ, g.batch - first);
    part.a = static_cast<const float2*>(g.a) + first * g.a_batch;
    part.b = static_cast<const float2*>(g.b) + first * g.b_batch;
    part.c = static_cast<float2*>(g.c) + first * g.m * g.n;
    dim3 grid(static_cast<unsigned>((g.n + tile_n - 1) / tile_n), static_cast<unsigned>((g.m + tile_m - 1) / tile_m),
              static_cast<unsigned>(part.batch));
    kernel<<<grid, block, 0, stream>>>(part);
  }
}

void launch_tf32(const BatchedComplexGemm& g, cudaStream_t stream) {
  launch_tiles(batched_cgemm_tf32, g, kWmmaM, kWmmaN, dim3(kWmmaThreads), stream);
}

template <int kThreadsN, int kColsPerThread, int kThreadsM, int kRowsPerThread>
void launch(const BatchedComplexGemm& g, cudaStream_t stream) {
  launch_tiles(batched_cgemm<kThreadsN, kColsPerThread, kThreadsM, kRowsPerThread>, g, kThreadsM * kRowsPerThread,
               kThreadsN * kColsPerThread, dim3(kThreadsN, kThreadsM), stream);
}

}  // namespace

const char* complex_gemm_variant_name(int variant) {
  static const char* names[kComplexGemmVariants] = {
      "32x2 by 4x4 (16x64 tile, 128 threads)", "16x4 by 4x4 (16x64 tile, 64 threads)",
      "32x2 by 2x8 (16x64 tile, 64 threads)",  "16x4 by 2x8 (16x64 tile, 32 threads)",
      "32x2 by 8x4 (32x64 tile, 256 threads)", "64x1 by 4x4 (16x64 tile, 256 threads)"};
  return variant >= 0 && variant < kComplexGemmVariants ? names[variant] : "unknown";
}

void batched_complex_gemm(const BatchedComplexGemm& g, void* stream_ptr) {
  if (g.batch == 0 || g.m == 0 || g.n == 0) return;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  if (g.tf32) {
    launch_tf32(g, stream);
  } else {
    switch (g.variant) {
      case 0:
        launch<32, 2, 4, 4>(g, stream);
        break;
      case 1:
        launch<16, 4, 4, 4>(g, stream);
        break;
      case 2:
        launch<32, 2, 2, 8>(g, stream);
        break;
      case 3:
        launch<16, 4, 2, 8>(g, stream);
        break;
      case 4:
        launch<32, 2, 8, 4>(g, stream);
        break;
      case 5:
        launch<64, 1, 4, 4>(g, stream);
        break;
      default:
        throw std::invalid_argument("batched_complex_gemm: unknown variant " + std::to_string(g.variant));
    }
  }
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("batched_complex_gemm: launch failed: ") + cudaGetErrorString(err));
}

}  // namespace fourmi::kernels
