// safetensors.h — files in the safetensors layout (https://github.com/huggingface/safetensors):
// an 8-byte little-endian header length, a JSON header naming every tensor's dtype, shape and
// byte range, then the raw little-endian data. Python reads them with `safetensors` or plain
// json + numpy; nothing in them is executable (unlike a pickle).
//
// fourmi adds, in the header's "__metadata__" (string to string, as the layout allows), a CRC-32
// of each tensor's bytes under "crc32/<name>": the reader checks it when it reads the tensor, so a
// damaged file is refused by name instead of loading wrong numbers. The reader validates the
// whole header before anything is read (sizes, offsets inside the file, dtypes, shapes that match
// their byte counts) and reads each tensor with one pread, never the whole file at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fourmi::util {

struct SafetensorsEntry {
  std::string dtype;  // F64, F32, F16, BF16, I64, I32, U8, BOOL
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range inside the data section
};

// Bytes per element of a safetensors dtype; 0 for a dtype this reader does not accept.
size_t safetensors_dtype_size(const std::string& dtype);

class SafetensorsWriter {
 public:
  // Adds a tensor; `data` must stay valid until write() (nothing is copied).
  void add(const std::string& name, const std::string& dtype, std::vector<int64_t> shape, const void* data,
           size_t bytes);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  // Streams the file through an AtomicFile; a failed write names `path` and the errno (see fs.h).
  void write(const std::string& path, const std::string& what) const;

 private:
  struct Item {
    SafetensorsEntry entry;
    const void* data;
  };
  std::vector<std::pair<std::string, Item>> items_;  // in the order of their data
  std::map<std::string, std::string> metadata_;
  uint64_t size_ = 0;
};

class SafetensorsReader {
 public:
  // Opens `path` and validates its header; throws naming the file and what is wrong.
  explicit SafetensorsReader(std::string path);
  ~SafetensorsReader();
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;
  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return entries_.count(name) > 0; }
  const SafetensorsEntry& entry(const std::string& name) const;  // throws naming a missing tensor
  std::vector<std::string> names() const;
  std::optional<std::string> metadata(const std::string& key) const;
  // Reads the tensor's bytes into `out` (exactly end - begin bytes) and checks its CRC-32.
  void read(const std::string& name, void* out, size_t bytes) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t data_start_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace fourmi::util
