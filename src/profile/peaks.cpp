#include "fourmi/profile/peaks.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "fourmi/util/device.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/log.h"

namespace fourmi::profile {
namespace {

// Best time of `reps` runs of fn, in seconds.
template <class F>
double best_seconds(torch::Device d, int reps, F fn) {
  fn();
  util::synchronize(d);
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    util::synchronize(d);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

double gemm_flops(torch::Device d, torch::ScalarType t, int64_t n, bool tf32, int reps) {
  const bool saved = at::globalContext().allowTF32CuBLAS();
  at::globalContext().setAllowTF32CuBLAS(tf32);
  auto opts = torch::TensorOptions().dtype(t).device(d);
  torch::Tensor a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts), c = torch::empty({n, n}, opts);
  const int inner = d.is_cuda() ? 10 : 1;
  double s = best_seconds(d, reps, [&] {
    for (int i = 0; i < inner; ++i) torch::mm_out(c, a, b);
  });
  at::globalContext().setAllowTF32CuBLAS(saved);
  return 2.0 * static_cast<double>(n) * n * n * inner / s;
}

}  // namespace

nlohmann::json Peaks::to_json() const {
  auto v = [](double x) { return x > 0 ? nlohmann::json(x) : nlohmann::json(); };
  return {{"schema", "fourmi.peaks/1"},
          {"device", device},
          {"fp64_flops", v(fp64_flops)},
          {"fp32_flops", v(fp32_flops)},
          {"tf32_flops", v(tf32_flops)},
          {"bf16_flops", v(bf16_flops)},
          {"mem_bytes_per_s", v(mem_bytes_per_s)},
          {"source", source},
          {"detail", detail}};
}

Peaks Peaks::from_json(const nlohmann::json& j, const std::string& origin) {
  Peaks p;
  auto get = [&](const char* k) {
    if (!j.contains(k) || j[k].is_null()) return 0.0;
    if (!j[k].is_number())
      throw std::runtime_error(fmt::format("{}: '{}' must be a number (FLOP/s or bytes/s)", origin, k));
    return j[k].get<double>();
  };
  p.fp64_flops = get("fp64_flops");
  p.fp32_flops = get("fp32_flops");
  p.tf32_flops = get("tf32_flops");
  p.bf16_flops = get("bf16_flops");
  p.mem_bytes_per_s = get("mem_bytes_per_s");
  p.device = j.value("device", "");
  p.detail = j.value("detail", nlohmann::json::object());
  p.source = origin;
  if (p.fp32_flops <= 0 || p.mem_bytes_per_s <= 0)
    throw std::runtime_error(
        fmt::format("{}: needs fp32_flops and mem_bytes_per_s > 0 (write it with `fourmi bench peak`)", origin));
  return p;
}

double Peaks::flops_for(const std::string& precision) const {
  double v = precision == "tf32"   ? tf32_flops
             : precision == "bf16" ? bf16_flops
             : precision == "fp64" ? fp64_flops
                                   : fp32_flops;
  return v > 0 ? v : fp32_flops;
}

Peaks measure_peaks(torch::Device d, bool quick) {
  torch::NoGradGuard no_grad;
  Peaks p;
  const bool gpu = d.is_cuda();
  const int reps = quick ? 3 : 10;
  const int64_t n = gpu ? (quick ? 4096 : 8192) : (quick ? 768 : 2048);
  p.fp32_flops = gemm_flops(d, torch::kFloat32, n, false, reps);
  p.fp64_flops = gemm_flops(d, torch::kFloat64, gpu ? n / 2 : n / 2, false, reps);
  if (gpu) {
    p.tf32_flops = gemm_flops(d, torch::kFloat32, n, true, reps);
    p.bf16_flops = gemm_flops(d, torch::kBFloat16, n, false, reps);
  }
  // Stream kernels: copy (2 arrays) and triad a = b + s c (3 arrays), over working sets far past the LLC.
  const int64_t elems = gpu ? (quick ? (1LL << 27) : (1LL << 28)) : (quick ? (1LL << 24) : (1LL << 25));
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(d);
  torch::Tensor a = torch::empty({elems}, opts), b = torch::ones({elems}, opts), c = torch::ones({elems}, opts);
  const double bytes = 4.0 * static_cast<double>(elems);
  double copy = 2 * bytes / best_seconds(d, reps, [&] { a.copy_(b); });
  double triad = 3 * bytes / best_seconds(d, reps, [&] { torch::add_out(a, b, c, 1.5); });
  p.mem_bytes_per_s = std::max(copy, triad);
  p.detail = {{"gemm_n", n},
              {"stream_elements", elems},
              {"copy_bytes_per_s", copy},
              {"triad_bytes_per_s", triad},
              {"quick", quick}};
  p.source = "measured";
  return p;
}

std::string default_peaks_path(const config::Config& c, torch::Device d) {
  return (std::filesystem::path(c.run.dir) / fmt::format("peaks-{}.json", d.is_cuda() ? "cuda" : "cpu")).string();
}

Peaks resolve_peaks(const config::Config& c, torch::Device d) {
  const auto& pc = c.profile;
  if (pc.peak_fp32_gflops > 0 && pc.peak_mem_gbs > 0) {
    Peaks p;
    p.fp32_flops = pc.peak_fp32_gflops * 1e9;
    p.tf32_flops = pc.peak_tf32_gflops * 1e9;
    p.bf16_flops = pc.peak_bf16_gflops * 1e9;
    p.fp64_flops = pc.peak_fp64_gflops * 1e9;
    p.mem_bytes_per_s = pc.peak_mem_gbs * 1e9;
    p.source = "config";
    return p;
  }
  std::string path = pc.peaks.empty() ? default_peaks_path(c, d) : pc.peaks;
  if (std::filesystem::exists(path)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(util::read_text(path));
    } catch (const std::exception& e) {
      throw std::runtime_error(
          fmt::format("{}: not a peaks file ({}); regenerate it with `fourmi bench peak`", path, e.what()));
    }
    return Peaks::from_json(j, path);
  }
  if (!pc.peaks.empty())
    throw std::runtime_error(
        fmt::format("profile.peaks: {} does not exist; write it with `fourmi bench peak --out {}`", path, path));
  util::info("profile: no peaks file at {}; measuring this device's peaks (quick)", path);
  Peaks p = measure_peaks(d, /*quick=*/true);
  util::atomic_write_text(path, p.to_json().dump(2) + "\n");
  p.source = path;
  return p;
}

void place_on_roofline(nlohmann::json& ops, const Peaks& peaks) {
  for (auto& op : ops) {
    const double flops = op["flops"].get<double>(), bytes = op["bytes"].get<double>();
    const double s = op["time_ms"].get<double>() * 1e-3;
    const double achieved = s > 0 ? flops / s : 0, bw = s > 0 ? bytes / s : 0;
    const double intensity = bytes > 0 ? flops / bytes : 0;
    const double peak = peaks.flops_for(op["precision"].get<std::string>());
    const double ridge = peak / peaks.mem_bytes_per_s;
    const double attainable = std::min(peak, intensity * peaks.mem_bytes_per_s);
    op["flops_per_s"] = achieved;
    op["bytes_per_s"] = bw;
    op["intensity"] = intensity;
    op["bound"] = intensity < ridge ? "memory" : "compute";
    op["roofline_pct"] = attainable > 0 ? 100.0 * achieved / attainable : 0.0;
  }
}

double roofline_bound_ms(const nlohmann::json& ops, const Peaks& peaks) {
  double seconds = 0;
  for (const auto& op : ops) {
    const double memory = peaks.mem_bytes_per_s > 0 ? op["bytes"].get<double>() / peaks.mem_bytes_per_s : 0;
    const double peak = peaks.flops_for(op["precision"].get<std::string>());
    const double compute = peak > 0 ? op["flops"].get<double>() / peak : 0;
    seconds += std::max(memory, compute);
  }
  return 1e3 * seconds;
}

}  // namespace fourmi::profile
