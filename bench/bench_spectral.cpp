// bench_spectral.cpp — the spectral layer's two transforms side by side (models/spectral_conv.h):
// one SpectralConv's forward + backward, time and peak memory, with rfftn/irfftn (fft) and with the
// truncated DFT's GEMMs (dft), over a sweep of grids and retained modes. The crossover it measures
// is the rule of model.spectral_transform: auto (docs/performance.md).
//   fourmi-bench-spectral --dim 2 --grids 64,128,256,512 --modes 8,16,32,64,96,128 --width 64 --batch 16 \
//     --json bench/results/spectral_crossover.json
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>

#include "fourmi/cli/bench_common.h"
#include "fourmi/models/spectral_conv.h"
#include "fourmi/util/device.h"

using namespace fourmi;
using config::SpectralTransform;

namespace {

struct Timing {
  double ms = 0;
  int64_t peak_bytes = 0;
};

// Forward and backward of one layer on `x`, `reps` times after `warmup`, the device synchronised
// at both ends; the peak counts the layer's own tensors above x and the upstream gradient.
Timing time_layer(models::SpectralConv& conv, const torch::Tensor& x, const torch::Tensor& grad, int warmup, int reps) {
  auto once = [&] {
    conv->zero_grad();
    if (x.grad().defined()) x.mutable_grad().reset();
    conv->forward(x).backward(grad);
  };
  for (int i = 0; i < warmup; ++i) once();
  util::synchronize(x.device());
  cli::reset_peak_bytes(x.device());
  const int64_t base = cli::allocated_bytes(x.device()).peak;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) once();
  util::synchronize(x.device());
  Timing t;
  t.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
  t.peak_bytes = cli::allocated_bytes(x.device()).peak - base;
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fourmi spectral-layer transform benchmark: fft against the truncated DFT"};
  int dim = 2, width = 64, batch = 16, warmup = 3, reps = 10;
  std::vector<int> grids{64, 128, 256}, modes{8, 16, 32};
  std::string json_out, device_name = "auto";
  bool tf32 = true;
  app.add_option("--dim", dim, "spatial dimensions (1-3)")->check(CLI::Range(1, 3));
  app.add_option("--grids", grids, "comma-separated grid points per dimension")->delimiter(',');
  app.add_option("--modes", modes, "comma-separated retained modes per dimension (only those that fit a grid run)")
      ->delimiter(',');
  app.add_option("--width", width, "input and output channels");
  app.add_option("--batch", batch, "samples");
  app.add_option("--warmup", warmup, "untimed passes");
  app.add_option("--reps", reps, "timed passes");
  app.add_option("--tf32", tf32, "TF32 tensor cores for the GEMMs (CUDA)");
  app.add_option("--device", device_name, "cpu | cuda | auto");
  app.add_option("--json", json_out, "merge the runs into this result file");
  CLI11_PARSE(app, argc, argv);

  const bool cuda = device_name == "cuda" || (device_name == "auto" && torch::cuda::is_available());
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  at::globalContext().setAllowTF32CuBLAS(tf32);
  nlohmann::json runs = nlohmann::json::array();
  for (int n : grids) {
    for (int m : modes) {
      if (2 * m > n) continue;
      std::vector<int64_t> shape{batch, width};
      for (int k = 0; k < dim; ++k) shape.push_back(n);
      torch::manual_seed(0);
      torch::Tensor x = torch::randn(shape, torch::TensorOptions().device(device)).requires_grad_(true);
      torch::Tensor grad = torch::randn_like(x);
      nlohmann::json row = {{"dim", dim},     {"grid", n},      {"modes", m},
                            {"width", width}, {"batch", batch}, {"precision", cuda && tf32 ? "tf32" : "fp32"}};
      for (SpectralTransform t : {SpectralTransform::kFft, SpectralTransform::kDft}) {
        models::SpectralConv conv(models::SpectralConvOptions{width, width, std::vector<int>(dim, m), {}, t});
        conv->to(device);
        Timing r = time_layer(conv, x, grad, warmup, reps);
        row[fmt::format("{}_ms", config::name_of(t))] = r.ms;
        row[fmt::format("{}_peak_bytes", config::name_of(t))] = r.peak_bytes;
      }
      row["dft_speedup"] = row["fft_ms"].get<double>() / row["dft_ms"].get<double>();
      std::printf("%s\n", row.dump().c_str());
      std::fflush(stdout);
      runs.push_back(row);
    }
  }
  if (!json_out.empty())
    cli::merge_bench_results(json_out, device, runs, {"dim", "grid", "modes", "width", "batch", "precision"});
  return 0;
}
