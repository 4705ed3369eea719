#include "fourmi/util/fs.h"

#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace fourmi::util {

void make_dirs(const std::string& path) {
  std::error_code ec;
  if (path.empty()) return;
  std::filesystem::create_directories(path, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create directory: {}", path, ec.message()));
}

void commit_file(const std::string& tmp_path, const std::string& final_path) {
  std::error_code ec;
  std::filesystem::rename(tmp_path, final_path, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot rename from {}: {}", final_path, tmp_path, ec.message()));
}

void atomic_write_text(const std::string& path, const std::string& text) {
  make_dirs(std::filesystem::path(path).parent_path().string());
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("{}: cannot open for writing", tmp));
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(fmt::format("{}: write failed (disk full?)", tmp));
  }
  commit_file(tmp, path);
}

std::string file_crc32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open to checksum", path));
  uLong crc = crc32(0L, Z_NULL, 0);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize got = in.gcount();
    if (got > 0) crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(got));
  }
  return fmt::format("{:08x}", static_cast<std::uint32_t>(crc));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace fourmi::util
