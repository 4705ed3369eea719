// metrics.h — one JSON object per line, appended and flushed as the run goes.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace fourmi::train {

class MetricsWriter {
 public:
  MetricsWriter() = default;  // disabled (ranks other than 0)
  MetricsWriter(const std::string& path, bool append);
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace fourmi::train
