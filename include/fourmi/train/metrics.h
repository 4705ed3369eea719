// metrics.h — one JSON object per line (one per epoch), appended and flushed as the run goes.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace fourmi::train {

class MetricsWriter {
 public:
  MetricsWriter() = default;  // disabled (ranks other than 0)
  // Starts `path` afresh (keep_through_epoch < 0), or keeps the records of epochs up to
  // `keep_through_epoch` and drops the rest (a run resumed from that epoch's checkpoint repeats
  // the later ones), including a last line cut short by a crash.
  MetricsWriter(const std::string& path, int keep_through_epoch);
  // Appends one record; a failed write throws naming the path and the errno.
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace fourmi::train
