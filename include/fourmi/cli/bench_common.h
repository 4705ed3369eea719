// bench_common.h — what the `fourmi bench` commands share: device timing and result files.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <string>
#include <vector>

namespace fourmi::cli {

// The CUDA caching allocator's bytes on `device` now and at their peak since the last reset (zeros
// on the CPU), and the reset of that peak.
struct AllocatedBytes {
  int64_t current = 0, peak = 0;
};
AllocatedBytes allocated_bytes(torch::Device device);
void reset_peak_bytes(torch::Device device);

// "NVIDIA H200" / the CPU model name, for result files.
std::string device_description(torch::Device device);
// Adds `runs` to the JSON result file at `path` ({"device", "host", "date", "commands", "runs"}),
// replacing earlier runs that agree on every key in `identity`, so sweeps can fill one file
// from several launches. Written atomically.
void merge_bench_results(const std::string& path, torch::Device device, const nlohmann::json& runs,
                         const std::vector<std::string>& identity);

}  // namespace fourmi::cli
