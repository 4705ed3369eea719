// profile_files.h — a rank's profile on disk (schema "fourmi.profile/1", docs/profiles.md):
// <dir>/rank-NNNNN.json, the per-op table as <dir>/rank-NNNNN.csv and the Chrome trace
// <dir>/trace-rank-NNNNN.json, each written atomically.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "fourmi/profile/peaks.h"
#include "fourmi/profile/profiler.h"

namespace fourmi::profile {

// `meta` carries run, rank, world_size, grid, host, device, backend, model, global_batch,
// batch_per_rank; the profiler's summary and the peaks complete the document.
nlohmann::json write_rank_profile(const std::string& dir, int rank, nlohmann::json meta, const Profiler& profiler,
                                  const Peaks& peaks);

}  // namespace fourmi::profile
