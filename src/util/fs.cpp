#include "fourmi/util/fs.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
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

void remove_tree(const std::string& path) {
  // nftw, not std::filesystem::remove_all: libtorch.so exports its own remove_all, which
  // crashes when it interposes on the one fourmi was linked against.
  static thread_local std::string failed;
  failed.clear();
  int rc = ::nftw(
      path.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) {
        if (std::remove(p) != 0) {
          failed = fmt::format("{}: {}", p, errno_text(errno));
          return 1;
        }
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
  if (rc != 0 && !failed.empty()) throw std::runtime_error(fmt::format("cannot remove {}", failed));
}

void commit_file(const std::string& tmp_path, const std::string& final_path) {
  std::error_code ec;
  std::filesystem::rename(tmp_path, final_path, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot rename from {}: {}", final_path, tmp_path, ec.message()));
}

std::string errno_text(int err) { return fmt::format("{} (errno {})", std::strerror(err), err); }

bool is_temp_file_name(const std::string& name) {
  const auto at = name.rfind(".tmp.");
  if (at == std::string::npos || at + 5 >= name.size()) return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(at + 5), name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  make_dirs(std::filesystem::path(path_).parent_path().string());
  tmp_ = fmt::format("{}.tmp.{}", path_, ::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(fmt::format("{}: cannot create {}: {}", path_, tmp_, errno_text(errno)));
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

bool AtomicFile::write(const void* data, size_t size) noexcept {
  if (errno_ != 0 || fd_ < 0) return false;
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      errno_ = n < 0 ? errno : EIO;
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void AtomicFile::commit(const std::string& what) {
  if (fd_ < 0) throw std::logic_error(fmt::format("{}: AtomicFile committed twice", path_));
  if (errno_ == 0 && ::fsync(fd_) != 0) errno_ = errno;
  if (::close(fd_) != 0 && errno_ == 0) errno_ = errno;
  fd_ = -1;
  if (errno_ != 0) {
    const int err = errno_;
    discard();
    throw std::runtime_error(
        fmt::format("{}: cannot write {}: {}; the partial file was removed", path_, what, errno_text(err)));
  }
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) {
    discard();
    throw std::runtime_error(
        fmt::format("{}: cannot write {}: rename from its temporary file failed: {}", path_, what, ec.message()));
  }
  tmp_.clear();
}

void atomic_write_text(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

std::string bytes_crc32(const void* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  for (size_t done = 0; done < size;) {  // crc32 takes a 32-bit length
    const auto n = static_cast<uInt>(std::min<size_t>(size - done, 1u << 30));
    crc = crc32(crc, p + done, n);
    done += n;
  }
  return fmt::format("{:08x}", static_cast<std::uint32_t>(crc));
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
