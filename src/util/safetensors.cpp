#include "fourmi/util/safetensors.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "fourmi/util/fs.h"

namespace fourmi::util {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the layout's own limit

bool checked_numel(const std::vector<int64_t>& shape, uint64_t* numel) {
  uint64_t n = 1;
  for (int64_t s : shape) {
    if (s < 0) return false;
    if (s != 0 && n > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(s)) return false;
    n *= static_cast<uint64_t>(s);
  }
  *numel = n;
  return true;
}

}  // namespace

size_t safetensors_dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  if (dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

void SafetensorsWriter::add(const std::string& name, const std::string& dtype, std::vector<int64_t> shape,
                            const void* data, size_t bytes) {
  uint64_t numel = 0;
  bool taken = false;
  for (const auto& [n, item] : items_) taken = taken || n == name;
  if (name == "__metadata__" || taken || safetensors_dtype_size(dtype) == 0 || !checked_numel(shape, &numel) ||
      numel * safetensors_dtype_size(dtype) != bytes)
    throw std::logic_error(fmt::format("safetensors: tensor '{}' ({}, {} bytes) cannot be added", name, dtype, bytes));
  items_.push_back({name, {{dtype, std::move(shape), size_, size_ + bytes}, data}});
  metadata_["crc32/" + name] = bytes_crc32(data, bytes);
  size_ += bytes;
}

void SafetensorsWriter::write(const std::string& path, const std::string& what) const {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = metadata_;
  for (const auto& [name, item] : items_)
    header[name] = {
        {"dtype", item.entry.dtype}, {"shape", item.entry.shape}, {"data_offsets", {item.entry.begin, item.entry.end}}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>((text.size() >> (8 * i)) & 0xff);
  AtomicFile file(path);
  file.write(length, sizeof length);
  file.write(text.data(), text.size());
  for (const auto& [name, item] : items_) file.write(item.data, item.entry.end - item.entry.begin);
  file.commit(what);
}

SafetensorsReader::SafetensorsReader(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path_, errno_text(errno)));
  try {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throw std::runtime_error(fmt::format("{}: cannot stat: {}", path_, errno_text(errno)));
    const auto file_size = static_cast<uint64_t>(st.st_size);
    unsigned char length[8];
    if (file_size < 8 || ::pread(fd_, length, 8, 0) != 8)
      throw std::runtime_error(fmt::format("{}: {} bytes, too short for a safetensors file", path_, file_size));
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | length[i];
    if (n < 2 || n > kMaxHeaderBytes || n > file_size - 8)
      throw std::runtime_error(
          fmt::format("{}: header length {} does not fit the file ({} bytes): not a safetensors file, or truncated",
                      path_, n, file_size));
    std::string text(n, '\0');
    if (::pread(fd_, text.data(), n, 8) != static_cast<ssize_t>(n))
      throw std::runtime_error(fmt::format("{}: cannot read the header: {}", path_, errno_text(errno ? errno : EIO)));
    data_start_ = 8 + n;
    const uint64_t data_size = file_size - data_start_;
    const nlohmann::json header = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!header.is_object()) throw std::runtime_error(fmt::format("{}: the header is not a JSON object", path_));
    for (const auto& item : header.items()) {
      const std::string& name = item.key();  // not a structured binding: the lambda below captures it
      const nlohmann::json& value = item.value();
      if (name == "__metadata__") {
        if (!value.is_object()) throw std::runtime_error(fmt::format("{}: __metadata__ is not an object", path_));
        for (const auto& [k, v] : value.items()) {
          if (!v.is_string())
            throw std::runtime_error(fmt::format("{}: __metadata__ value of '{}' is not a string", path_, k));
          metadata_[k] = v.get<std::string>();
        }
        continue;
      }
      auto bad = [&](const std::string& why) {
        return std::runtime_error(fmt::format("{}: tensor '{}': {}", path_, name, why));
      };
      if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets"))
        throw bad("needs dtype, shape and data_offsets");
      const auto& d = value["dtype"];
      const auto& s = value["shape"];
      const auto& o = value["data_offsets"];
      if (!d.is_string() || safetensors_dtype_size(d.get<std::string>()) == 0)
        throw bad("dtype is not one of F64, F32, F16, BF16, I64, I32, U8, BOOL");
      if (!s.is_array()) throw bad("shape is not a list");
      SafetensorsEntry e;
      e.dtype = d.get<std::string>();
      for (const auto& dim : s) {
        if (!dim.is_number_unsigned()) throw bad("shape holds a value that is not a non-negative integer");
        const auto v = dim.get<uint64_t>();
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) throw bad("shape value out of range");
        e.shape.push_back(static_cast<int64_t>(v));
      }
      if (!o.is_array() || o.size() != 2 || !o[0].is_number_unsigned() || !o[1].is_number_unsigned())
        throw bad("data_offsets is not [begin, end]");
      e.begin = o[0].get<uint64_t>();
      e.end = o[1].get<uint64_t>();
      uint64_t numel = 0;
      if (e.begin > e.end || e.end > data_size) throw bad("data_offsets lie outside the file (truncated?)");
      if (!checked_numel(e.shape, &numel) || numel > (e.end - e.begin) ||
          numel * safetensors_dtype_size(e.dtype) != e.end - e.begin)
        throw bad("its shape does not match its byte count");
      entries_[name] = std::move(e);
    }
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

SafetensorsReader::~SafetensorsReader() {
  if (fd_ >= 0) ::close(fd_);
}

const SafetensorsEntry& SafetensorsReader::entry(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw std::runtime_error(fmt::format("{}: no tensor '{}'", path_, name));
  return it->second;
}

std::vector<std::string> SafetensorsReader::names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

std::optional<std::string> SafetensorsReader::metadata(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it == metadata_.end()) return std::nullopt;
  return it->second;
}

void SafetensorsReader::read(const std::string& name, void* out, size_t bytes) const {
  const SafetensorsEntry& e = entry(name);
  if (bytes != e.end - e.begin)
    throw std::logic_error(fmt::format("{}: tensor '{}' holds {} bytes, not {}", path_, name, e.end - e.begin, bytes));
  auto* p = static_cast<char*>(out);
  for (size_t done = 0; done < bytes;) {
    ssize_t got = ::pread(fd_, p + done, bytes - done, static_cast<off_t>(data_start_ + e.begin + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      throw std::runtime_error(fmt::format("{}: cannot read tensor '{}': {}", path_, name,
                                           got < 0 ? errno_text(errno) : std::string("unexpected end of file")));
    done += static_cast<size_t>(got);
  }
  if (auto crc = metadata("crc32/" + name); crc && *crc != bytes_crc32(out, bytes))
    throw std::runtime_error(fmt::format(
        "{}: tensor '{}' fails its checksum (crc32 {} recorded, {} read): the file is damaged; use another checkpoint",
        path_, name, *crc, bytes_crc32(out, bytes)));
}

}  // namespace fourmi::util
