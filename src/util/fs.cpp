#include "fourmi/util/fs.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
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
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open to checksum", path));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);  // deeper kernel readahead on a cold file
  uLong crc = crc32(0L, Z_NULL, 0);
  std::vector<char> buf(4 << 20);
  for (;;) {
    ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      ::close(fd);
      throw std::runtime_error(fmt::format("{}: read failed while checksumming", path));
    }
    if (got == 0) break;
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(got));
  }
  ::close(fd);
  return fmt::format("{:08x}", static_cast<std::uint32_t>(crc));
}

std::vector<std::string> files_crc32(const std::vector<std::string>& paths, int threads) {
  std::vector<std::string> out(paths.size());
  std::vector<std::exception_ptr> errors(paths.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < paths.size();) {
      try {
        out[i] = file_crc32(paths[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  const size_t n = std::min<size_t>(paths.size(), static_cast<size_t>(std::max(1, threads)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);  // the first failing file, in path order
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace fourmi::util
