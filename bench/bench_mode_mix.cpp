// bench_mode_mix.cpp — the spectral layers' per-mode complex products on the GPU: cuBLAS's
// batched GEMM against every thread-tile variant of fourmi's kernel, for the forward product
// (x·w), the input gradient (dy·w^H) and the weight gradient (x^H·dy). Prints one JSON line per
// (shape, product, implementation) and writes them all to --json.
#include <CLI/CLI.hpp>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAStream.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>

#include "fourmi/kernels/mode_mix.h"
#include "fourmi/util/fs.h"

using namespace fourmi;

namespace {

double time_ms(const std::function<void()>& fn, int iters) {
  for (int i = 0; i < 5; ++i) fn();
  torch::cuda::synchronize();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) fn();
  torch::cuda::synchronize();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iters;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fourmi mode-mixing kernel benchmark"};
  std::string json_out;
  int iters = 200;
  bool cublas_only = false;
  app.add_option("--json", json_out, "write results here");
  app.add_flag("--cublas-only", cublas_only, "time only the cuBLAS formulations");
  std::string probe;
  app.add_option("--probe", probe,
                 "run one cuBLAS product once with TF32 off, for Nsight Compute: fwd|dx|dw[,t] on the large shape (t: "
                 "transposed)");
  app.add_option("--iters", iters, "timed launches per measurement");
  CLI11_PARSE(app, argc, argv);
  if (!torch::cuda::is_available()) {
    std::fprintf(stderr, "fourmi-bench-mix: no GPU\n");
    return 1;
  }
  at::globalContext().setAllowTF32CuBLAS(true);  // as in training (run.tf32: true)
  struct Shape {
    const char* name;
    int64_t modes, batch, cin, cout;
  };
  const Shape shapes[] = {{"fno2d-large layer (2048 modes, batch 16, 64 -> 64)", 2048, 16, 64, 64},
                          {"fno2d-medium layer (512 modes, batch 32, 64 -> 64)", 512, 32, 64, 64}};
  nlohmann::json rows = nlohmann::json::array();
  auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kComplexFloat);
  for (const auto& s : shapes) {
    torch::Tensor x = torch::randn({s.modes, s.batch, s.cin}, opts), w = torch::randn({s.modes, s.cin, s.cout}, opts);
    torch::Tensor dy = torch::randn({s.modes, s.batch, s.cout}, opts);
    struct Product {
      const char* name;
      torch::Tensor a, b;
      int64_t a_m, a_k, b_k, b_n, m, n, k;
      bool conj_a, conj_b;
      std::function<torch::Tensor()> cublas;
      std::function<torch::Tensor()> cublas_transposed;  // the same product as C^T = B^T A^T
    };
    const Product products[] = {
        {"forward x.w", x, w, s.cin, 1, s.cout, 1, s.batch, s.cout, s.cin, false, false,
         [&] { return torch::bmm(x, w); },
         [&] { return torch::bmm(w.transpose(1, 2), x.transpose(1, 2)).transpose(1, 2); }},
        {"input grad dy.w^H", dy, w, s.cout, 1, 1, s.cout, s.batch, s.cin, s.cout, false, true,
         [&] { return torch::bmm(dy, w.conj().transpose(1, 2)); },
         [&] { return torch::bmm(w.conj(), dy.transpose(1, 2)).transpose(1, 2); }},
        {"weight grad x^H.dy", x, dy, 1, s.cin, s.cout, 1, s.cin, s.cout, s.batch, true, false,
         [&] { return torch::bmm(x.conj().transpose(1, 2), dy); },
         [&] { return torch::bmm(dy.transpose(1, 2), x.conj()).transpose(1, 2); }},
    };
    if (!probe.empty()) {
      const std::string which = probe.substr(0, probe.find(','));
      const bool transposed = probe.find(",t") != std::string::npos;
      const int idx = which == "fwd" ? 0 : which == "dx" ? 1 : 2;
      at::globalContext().setAllowTF32CuBLAS(false);
      torch::cuda::synchronize();
      torch::Tensor r = transposed ? products[idx].cublas_transposed() : products[idx].cublas();
      torch::cuda::synchronize();
      std::printf("probe %s%s: %s done\n", which.c_str(), transposed ? " (transposed)" : "", products[idx].name);
      return 0;
    }
    for (const auto& p : products) {
      const double useful_flop = 8.0 * s.modes * p.m * p.n * p.k;
      torch::Tensor ref = p.cublas();
      auto report = [&](const std::string& impl, double ms, double max_rel) {
        nlohmann::json r = {{"shape", s.name},
                            {"product", p.name},
                            {"impl", impl},
                            {"ms", ms},
                            {"useful_tflops", useful_flop / ms / 1e9},
                            {"max_rel_diff_vs_cublas", max_rel}};
        std::printf("%s\n", r.dump().c_str());
        rows.push_back(r);
      };
      auto rel_to_ref = [&](const torch::Tensor& t) {
        return ((t - ref).abs().max() / ref.abs().max()).item<double>();
      };
      report("cublas bmm (TF32 allowed)", time_ms([&] { p.cublas(); }, iters), 0.0);
      report("cublas bmm transposed (TF32 allowed)", time_ms([&] { p.cublas_transposed(); }, iters),
             rel_to_ref(p.cublas_transposed()));
      at::globalContext().setAllowTF32CuBLAS(false);
      report("cublas bmm (TF32 off)", time_ms([&] { p.cublas(); }, iters), rel_to_ref(p.cublas()));
      report("cublas bmm transposed (TF32 off)", time_ms([&] { p.cublas_transposed(); }, iters),
             rel_to_ref(p.cublas_transposed()));
      at::globalContext().setAllowTF32CuBLAS(true);
      if (cublas_only) continue;
      torch::Tensor c = torch::empty({s.modes, p.m, p.n}, opts);
      // The problem's product into c, by kernel variant `variant` (TF32 tensor cores when `tf32`).
      auto gemm_of = [&](int variant, bool tf32) {
        return kernels::BatchedComplexGemm{s.modes,
                                           p.m,
                                           p.n,
                                           p.k,
                                           p.a.data_ptr(),
                                           p.a.numel() / s.modes,
                                           p.a_m,
                                           p.a_k,
                                           p.conj_a,
                                           p.b.data_ptr(),
                                           p.b.numel() / s.modes,
                                           p.b_k,
                                           p.b_n,
                                           p.conj_b,
                                           c.data_ptr(),
                                           variant,
                                           tf32};
      };
      {
        kernels::BatchedComplexGemm g = gemm_of(0, /*tf32=*/true);
        auto stream = c10::cuda::getCurrentCUDAStream().stream();
        double ms = time_ms([&] { kernels::batched_complex_gemm(g, stream); }, iters);
        report("fourmi kernel TF32 tensor cores (wmma 16x64 tile)", ms, rel_to_ref(c));
      }
      for (int v = 0; v < kernels::kComplexGemmVariants; ++v) {
        kernels::BatchedComplexGemm g = gemm_of(v, /*tf32=*/false);
        auto stream = c10::cuda::getCurrentCUDAStream().stream();
        double ms = time_ms([&] { kernels::batched_complex_gemm(g, stream); }, iters);
        double rel = ((c - ref).abs().max() / ref.abs().max()).item<double>();
        report(std::string("fourmi kernel ") + kernels::complex_gemm_variant_name(v), ms, rel);
      }
    }
  }
  if (!json_out.empty()) {
    char date[64];
    std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    std::string command;
    for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
    nlohmann::json out = {{"benchmark", "mode_mix"},
                          {"command", command},
                          {"date", date},
                          {"device", at::cuda::getDeviceProperties(0)->name},
                          {"note", "TF32 allowed for cuBLAS, as in training; fourmi's kernel is plain fp32"},
                          {"results", rows}};
    util::atomic_write_text(json_out, out.dump(1) + "\n");
  }
  return 0;
}
