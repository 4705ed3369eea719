// metrics.h — one JSON object per line (one per epoch), appended and flushed as the run goes, and
// the same numbers as TensorBoard scalars (util/tensorboard_events.h) for the dashboards users
// already run.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <string>

#include "fourmi/util/tensorboard_events.h"

namespace fourmi::train {

class MetricsWriter {
 public:
  MetricsWriter() = default;  // disabled (ranks other than 0)
  // Starts `path` afresh (keep_through_epoch < 0), or keeps the records of epochs up to
  // `keep_through_epoch` and drops the rest (a run resumed from that epoch's checkpoint repeats
  // the later ones), including a last line cut short by a crash.
  // With `tensorboard_dir`, every numeric field of a record but "epoch" is also a TensorBoard
  // scalar of that name at step = epoch, in one event file there: the directory's earlier event
  // files are replaced by one holding the kept records, so a resumed run shows each epoch once.
  MetricsWriter(const std::string& path, int keep_through_epoch, const std::string& tensorboard_dir = "");
  // Appends one record (stamped with "wall_time", Unix seconds, unless it has one); a failed write
  // throws naming the path and the errno.
  void write(nlohmann::json record);
  const std::string& path() const { return path_; }

 private:
  void add_scalars(const nlohmann::json& record);
  std::string path_;
  std::ofstream out_;
  std::unique_ptr<util::TensorBoardWriter> events_;
};

}  // namespace fourmi::train
