#include "fourmi/profile/profile_files.h"

#include <fmt/format.h>

#include "fourmi/util/fs.h"

namespace fourmi::profile {

nlohmann::json write_rank_profile(const std::string& dir, int rank, nlohmann::json meta, const Profiler& profiler,
                                  const Peaks& peaks) {
  nlohmann::json doc = std::move(meta);
  doc["schema"] = "fourmi.profile/1";
  doc["rank"] = rank;
  nlohmann::json s = profiler.summary();
  doc["peaks"] = peaks.to_json();
  doc["steps"] = s["steps"];
  const double per_rank = doc.value("batch_per_rank", 0.0);
  const double step_ms = doc["steps"].value("step_ms_mean", 0.0);
  doc["steps"]["samples_per_s"] = step_ms > 0 ? per_rank * 1e3 / step_ms : 0.0;
  doc["steps"]["warmup"] = doc.value("warmup_steps", 0);
  doc["ops"] = s["ops"];
  place_on_roofline(doc["ops"], peaks);
  const double bound_ms = roofline_bound_ms(doc["ops"], peaks);
  doc["steps"]["roofline_bound_ms"] = bound_ms;
  doc["steps"]["roofline_bound_pct"] = step_ms > 0 ? 100.0 * bound_ms / step_ms : 0.0;
  doc["comm"] = s["comm"];
  doc["comm_summary"] = s["comm_summary"];
  doc["per_step"] = s["per_step"];
  util::atomic_write_text(fmt::format("{}/rank-{:05d}.json", dir, rank), doc.dump(1) + "\n");

  std::string csv =
      "name,phase,kind,layer,precision,flops,bytes,time_ms,gflops_per_s,gbytes_per_s,intensity,bound,roofline_pct\n";
  for (const auto& op : doc["ops"])
    csv += fmt::format("{},{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{},{:.4g}\n",
                       op["name"].get<std::string>(), op["phase"].get<std::string>(), op["kind"].get<std::string>(),
                       op["layer"].get<int>(), op["precision"].get<std::string>(), op["flops"].get<double>(),
                       op["bytes"].get<double>(), op["time_ms"].get<double>(), op["flops_per_s"].get<double>() / 1e9,
                       op["bytes_per_s"].get<double>() / 1e9, op["intensity"].get<double>(),
                       op["bound"].get<std::string>(), op["roofline_pct"].get<double>());
  util::atomic_write_text(fmt::format("{}/rank-{:05d}.csv", dir, rank), csv);
  nlohmann::json trace = {{"traceEvents", profiler.trace_events(rank)}, {"displayTimeUnit", "ms"}};
  util::atomic_write_text(fmt::format("{}/trace-rank-{:05d}.json", dir, rank), trace.dump() + "\n");
  return doc;
}

}  // namespace fourmi::profile
