// peaks.h — the roofline's ceilings: peak FLOP/s per precision and memory bandwidth, measured
// in the manner of the Empirical Roofline Toolkit (large GEMMs; stream kernels over working
// sets far past the last-level cache), saved to a file that later runs reuse.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <string>

#include "fourmi/config/config.h"

namespace fourmi::profile {

struct Peaks {
  double fp64_flops = 0, fp32_flops = 0, tf32_flops = 0, bf16_flops = 0;  // 0 = not available
  double mem_bytes_per_s = 0;
  std::string device;
  std::string source;     // file path, "config" or "measured"
  nlohmann::json detail;  // per-kernel measurements

  nlohmann::json to_json() const;
  static Peaks from_json(const nlohmann::json& j, const std::string& origin);
  double flops_for(const std::string& precision) const;
};

// Measures this device. `quick` uses smaller problems (a few seconds on a CPU).
Peaks measure_peaks(torch::Device device, bool quick);
// The peaks a profiled run uses: profile.peak_* from the config when given, else the file
// profile.peaks, else <run.dir>/peaks-<device>.json, else measured now (quick) and saved there.
Peaks resolve_peaks(const config::Config& config, torch::Device device);
std::string default_peaks_path(const config::Config& config, torch::Device device);

// Adds flops_per_s, bytes_per_s, intensity, bound and roofline_pct to each op of `ops`.
void place_on_roofline(nlohmann::json& ops, const Peaks& peaks);
// The step's roofline bound in ms: Σ over one step's `ops` of max(bytes / bandwidth, flops / peak of
// the op's precision), what the step would take with every op at its roofline. It is the bound of
// the step as these ops compose it (each reads its operands and writes its results once), so
// fusing ops lowers it; it ignores launches, synchronisation and unrecorded work.
double roofline_bound_ms(const nlohmann::json& ops, const Peaks& peaks);

}  // namespace fourmi::profile
