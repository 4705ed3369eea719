#include "fourmi/train/metrics.h"

#include <fmt/format.h>

#include <stdexcept>

namespace fourmi::train {

MetricsWriter::MetricsWriter(const std::string& path, bool append)
    : path_(path), out_(path, append ? std::ios::app : std::ios::trunc) {
  if (!out_) throw std::runtime_error(fmt::format("{}: cannot open metrics file for writing", path));
}

void MetricsWriter::write(const nlohmann::json& record) {
  if (!out_.is_open()) return;
  out_ << record.dump() << "\n";
  out_.flush();
}

}  // namespace fourmi::train
