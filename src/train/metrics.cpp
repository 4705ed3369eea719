#include "fourmi/train/metrics.h"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "fourmi/util/fs.h"

namespace fourmi::train {

MetricsWriter::MetricsWriter(const std::string& path, int keep_through_epoch, const std::string& tensorboard_dir)
    : path_(path) {
  std::vector<nlohmann::json> kept_records;
  if (keep_through_epoch >= 0 && std::filesystem::exists(path)) {
    std::istringstream in(util::read_text(path));
    std::string kept;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json rec = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (rec.is_object() && rec.contains("epoch") && rec["epoch"].is_number_integer() &&
          rec["epoch"].get<int>() <= keep_through_epoch) {
        kept += line + "\n";
        kept_records.push_back(std::move(rec));
      }
    }
    util::atomic_write_text(path, kept);
  }
  errno = 0;
  out_.open(path, keep_through_epoch >= 0 ? std::ios::app : std::ios::trunc);
  if (!out_)
    throw std::runtime_error(
        fmt::format("{}: cannot open metrics file for writing: {}", path, util::errno_text(errno ? errno : EIO)));
  if (tensorboard_dir.empty()) return;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(tensorboard_dir, ec))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) std::filesystem::remove(entry, ec);
  events_ = std::make_unique<util::TensorBoardWriter>(tensorboard_dir);
  for (const auto& rec : kept_records) add_scalars(rec);
  events_->flush();
}

void MetricsWriter::add_scalars(const nlohmann::json& record) {
  const int64_t step = record.value("epoch", int64_t{0});
  const double wall_time = record.value("wall_time", 0.0);
  for (const auto& [key, value] : record.items())
    if (value.is_number() && key != "epoch" && key != "wall_time")
      events_->add_scalar(key, step, value.get<double>(), wall_time);
}

void MetricsWriter::write(nlohmann::json record) {
  if (!out_.is_open()) return;
  if (!record.contains("wall_time"))
    record["wall_time"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  errno = 0;
  out_ << record.dump() << "\n";
  out_.flush();
  if (!out_)
    throw std::runtime_error(fmt::format("{}: cannot write metrics: {}", path_, util::errno_text(errno ? errno : EIO)));
  if (events_) {
    add_scalars(record);
    events_->flush();
  }
}

}  // namespace fourmi::train
