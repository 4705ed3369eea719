// tensorboard_events.h — scalars in TensorBoard's event-file format, which `tensorboard --logdir`
// (and W&B's TensorBoard sync) reads: a file of records, each a little-endian uint64 length, its
// masked CRC-32C, a serialised `Event` protobuf and that one's masked CRC-32C. The first event
// names the file version; each scalar is an Event {wall_time, step, Summary {Value {tag,
// simple_value}}}. The few protobuf fields needed are encoded here (no protobuf dependency).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace fourmi::util {

// CRC-32C (Castagnoli), the checksum of TFRecord framing; `crc` continues a previous value.
uint32_t crc32c(const void* data, size_t bytes, uint32_t crc = 0);

// One event file, written as scalars arrive. Not thread-safe.
class TensorBoardWriter {
 public:
  // Creates <dir>/events.out.tfevents.<unix seconds>.<host>.<pid> (and `dir`); throws naming it.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;
  // Appends one scalar (stored as float32, as TensorBoard's simple_value); `wall_time` in Unix seconds.
  void add_scalar(const std::string& tag, int64_t step, double value, double wall_time);
  // Flushes to the kernel; throws naming the file and the errno when a write failed.
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace fourmi::util
