#include "fourmi/train/metrics.h"

#include <fmt/format.h>

#include <cerrno>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "fourmi/util/fs.h"

namespace fourmi::train {

MetricsWriter::MetricsWriter(const std::string& path, int keep_through_epoch) : path_(path) {
  if (keep_through_epoch >= 0 && std::filesystem::exists(path)) {
    std::istringstream in(util::read_text(path));
    std::string kept;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json rec = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (rec.is_object() && rec.contains("epoch") && rec["epoch"].is_number_integer() &&
          rec["epoch"].get<int>() <= keep_through_epoch)
        kept += line + "\n";
    }
    util::atomic_write_text(path, kept);
  }
  errno = 0;
  out_.open(path, keep_through_epoch >= 0 ? std::ios::app : std::ios::trunc);
  if (!out_)
    throw std::runtime_error(
        fmt::format("{}: cannot open metrics file for writing: {}", path, util::errno_text(errno ? errno : EIO)));
}

void MetricsWriter::write(const nlohmann::json& record) {
  if (!out_.is_open()) return;
  errno = 0;
  out_ << record.dump() << "\n";
  out_.flush();
  if (!out_)
    throw std::runtime_error(fmt::format("{}: cannot write metrics: {}", path_, util::errno_text(errno ? errno : EIO)));
}

}  // namespace fourmi::train
