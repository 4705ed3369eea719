// cmd_bench_peak.cpp — `fourmi bench peak`: this device's roofline ceilings, saved for profiled runs.
#include <fmt/format.h>
#include <torch/torch.h>

#include "fourmi/cli/bench_common.h"
#include "fourmi/cli/commands.h"
#include "fourmi/cli/load.h"
#include "fourmi/runtime/run_context.h"
#include "fourmi/profile/peaks.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/host.h"
#include "fourmi/util/log.h"

namespace fourmi::cli {

int run_bench_peak(const CommonOptions& opts, const std::string& out_path) {
  config::Config cfg = load_config(opts);
  cfg.parallel.data = {};  // one process: the training grid does not apply
  cfg.parallel.modes = {1};
  runtime::RunContext ctx(cfg);
  if (ctx.launch().world_size > 1)
    throw std::runtime_error("fourmi bench peak measures one device; start it without mpirun/srun");
  util::info("fourmi bench peak: measuring {} ({})", ctx.device().str(), device_description(ctx.device()));
  profile::Peaks p = profile::measure_peaks(ctx.device(), /*quick=*/false);
  p.device = device_description(ctx.device());
  auto show = [](double v, double unit) { return v > 0 ? fmt::format("{:.1f}", v / unit) : std::string("n/a"); };
  util::info("  fp64 GEMM  {:>9s} TFLOP/s", show(p.fp64_flops, 1e12));
  util::info("  fp32 GEMM  {:>9s} TFLOP/s", show(p.fp32_flops, 1e12));
  util::info("  tf32 GEMM  {:>9s} TFLOP/s", show(p.tf32_flops, 1e12));
  util::info("  bf16 GEMM  {:>9s} TFLOP/s", show(p.bf16_flops, 1e12));
  util::info("  memory     {:>9s} GB/s (best of copy {:.1f} and triad {:.1f})", show(p.mem_bytes_per_s, 1e9),
             p.detail["copy_bytes_per_s"].get<double>() / 1e9, p.detail["triad_bytes_per_s"].get<double>() / 1e9);
  const std::string path = out_path.empty() ? profile::default_peaks_path(cfg, ctx.device()) : out_path;
  nlohmann::json doc = p.to_json();
  doc["command"] = util::command_line();
  util::atomic_write_text(path, doc.dump(2) + "\n");
  util::info("wrote {} (profiled runs read it through profile.peaks)", path);
  return 0;
}

}  // namespace fourmi::cli
