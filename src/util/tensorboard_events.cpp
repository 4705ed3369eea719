#include "fourmi/util/tensorboard_events.h"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "fourmi/util/fs.h"
#include "fourmi/util/host.h"

namespace fourmi::util {
namespace {

std::array<uint32_t, 256> crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected Castagnoli polynomial
    t[i] = c;
  }
  return t;
}

uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }  // TFRecord's mask

// Protobuf wire format: varints, and fields keyed by (number << 3) | wire type.
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
template <class T>
void little_endian(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // x86-64 and aarch64 Linux are little-endian
  out.append(b, sizeof(T));
}
void bytes_field(std::string& out, int field, const std::string& bytes) {
  varint(out, (static_cast<uint64_t>(field) << 3) | 2);
  varint(out, bytes.size());
  out += bytes;
}

// Event {1: double wall_time, 2: int64 step, 3: string file_version, 5: Summary summary}.
std::string event(double wall_time, int64_t step) {
  std::string e;
  varint(e, (1 << 3) | 1);
  little_endian(e, wall_time);
  if (step != 0) {
    varint(e, 2 << 3);
    varint(e, static_cast<uint64_t>(step));
  }
  return e;
}

}  // namespace

uint32_t crc32c(const void* data, size_t bytes, uint32_t crc) {
  static const std::array<uint32_t, 256> table = crc32c_table();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < bytes; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  make_dirs(dir);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const double seconds = std::chrono::duration<double>(now).count();
  path_ = (std::filesystem::path(dir) /
           fmt::format("events.out.tfevents.{}.{}.{}", static_cast<int64_t>(seconds), hostname(), ::getpid()))
              .string();
  errno = 0;
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_)
    throw std::runtime_error(
        fmt::format("{}: cannot create TensorBoard event file: {}", path_, errno_text(errno ? errno : EIO)));
  std::string e = event(seconds, 0);
  bytes_field(e, 3, "brain.Event:2");
  write_record(e);
  flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::write_record(const std::string& data) {
  std::string header;
  little_endian(header, static_cast<uint64_t>(data.size()));
  std::string record = header;
  little_endian(record, masked(crc32c(header.data(), header.size())));
  record += data;
  little_endian(record, masked(crc32c(data.data(), data.size())));
  errno = 0;
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    throw std::runtime_error(
        fmt::format("{}: cannot write TensorBoard event: {}", path_, errno_text(errno ? errno : EIO)));
}

void TensorBoardWriter::add_scalar(const std::string& tag, int64_t step, double value, double wall_time) {
  std::string v;  // Summary.Value {1: string tag, 2: float simple_value}
  bytes_field(v, 1, tag);
  varint(v, (2 << 3) | 5);
  little_endian(v, static_cast<float>(value));
  std::string summary;  // Summary {1: repeated Value value}
  bytes_field(summary, 1, v);
  std::string e = event(wall_time, step);
  bytes_field(e, 5, summary);
  write_record(e);
}

void TensorBoardWriter::flush() {
  errno = 0;
  if (std::fflush(file_) != 0)
    throw std::runtime_error(
        fmt::format("{}: cannot write TensorBoard event: {}", path_, errno_text(errno ? errno : EIO)));
}

}  // namespace fourmi::util
