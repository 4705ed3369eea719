#include "fourmi/cli/bench_common.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <ctime>
#include <filesystem>
#include <fstream>

#include "fourmi/util/fs.h"
#include "fourmi/util/host.h"
#include "fourmi/util/log.h"

#if __has_include(<ATen/cuda/CUDAContext.h>)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#define FOURMI_BENCH_CUDA 1
#endif

namespace fourmi::cli {

AllocatedBytes allocated_bytes(torch::Device device) {
#ifdef FOURMI_BENCH_CUDA
  if (device.is_cuda()) {
    auto s = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    const auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    return {s.allocated_bytes[all].current, s.allocated_bytes[all].peak};
  }
#else
  (void)device;
#endif
  return {};
}

void reset_peak_bytes(torch::Device device) {
#ifdef FOURMI_BENCH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#else
  (void)device;
#endif
}

std::string device_description(torch::Device device) {
#ifdef FOURMI_BENCH_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(device.index())->name;
#endif
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) return "CPU: " + line.substr(line.find(':') + 2);
  return "CPU";
}

void merge_bench_results(const std::string& path, torch::Device device, const nlohmann::json& runs,
                         const std::vector<std::string>& identity) {
  nlohmann::json doc = nlohmann::json::object();
  if (std::filesystem::exists(path)) {
    try {
      doc = nlohmann::json::parse(util::read_text(path));
    } catch (const std::exception& e) {
      throw std::runtime_error(
          fmt::format("{}: not a JSON result file ({}); remove it or choose another --out", path, e.what()));
    }
  }
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& old : doc.value("runs", nlohmann::json::array())) {
    bool replaced = false;
    for (const auto& r : runs) {
      bool same = true;
      for (const auto& k : identity) same = same && old.value(k, nlohmann::json()) == r.value(k, nlohmann::json());
      replaced = replaced || same;
    }
    if (!replaced) kept.push_back(old);
  }
  for (const auto& r : runs) kept.push_back(r);
  std::time_t now = std::time(nullptr);
  doc["device"] = device_description(device);
  doc["host"] = util::hostname();
  doc["date"] = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(now));
  auto commands = doc.value("commands", nlohmann::json::array());
  if (std::find(commands.begin(), commands.end(), util::command_line()) == commands.end())
    commands.push_back(util::command_line());
  doc["commands"] = commands;
  doc["command"] = commands.size() == 1 ? commands[0] : nlohmann::json(commands);
  doc["runs"] = kept;
  util::atomic_write_text(path, doc.dump(2) + "\n");
  util::info("wrote {}", path);
}

}  // namespace fourmi::cli
