// fs.h — file helpers: atomic writes (temp file + rename) with checked errors, and checksums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fourmi::util {

// A file written through `<path>.tmp.<pid>` and renamed onto `path` by commit(), so readers never
// see a half-written file. Write errors (ENOSPC, EFBIG, EIO, ...) are remembered, not thrown, by
// write(), so it can serve as the sink of a library that must not see exceptions (LibTorch's
// archive writer); commit() then throws one message naming `path` and the errno, after removing
// the temporary file. Destroyed without commit(), the temporary file is removed.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // creates parent directories; throws if the temp file cannot be created
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Appends bytes; after the first failure further writes are skipped. Returns whether all went in.
  bool write(const void* data, size_t size) noexcept;
  // fsync, close and rename; throws "<path>: cannot write <what>: <strerror> (errno N)".
  void commit(const std::string& what = "file");
  const std::string& path() const { return path_; }

 private:
  void discard() noexcept;
  std::string path_, tmp_;
  int fd_ = -1;
  int errno_ = 0;
};

// Writes `text` to `path` through an AtomicFile. Creates parent directories.
void atomic_write_text(const std::string& path, const std::string& text);
// Whether `name` is a temporary file of an AtomicFile ("<name>.tmp.<pid>").
bool is_temp_file_name(const std::string& name);
// "<strerror> (errno N)".
std::string errno_text(int err);
// Renames a finished temporary file onto its final name (same directory, atomic).
void commit_file(const std::string& tmp_path, const std::string& final_path);
// CRC-32 (zlib) of the whole file, as 8 lowercase hex digits.
std::string file_crc32(const std::string& path);
// CRC-32 of a byte range, as 8 lowercase hex digits.
std::string bytes_crc32(const void* data, size_t size);
// CRC-32 of each file, computed by up to `threads` threads (cold files are then read as several
// streams at once). Throws the first failure in path order.
std::vector<std::string> files_crc32(const std::vector<std::string>& paths, int threads);
std::string read_text(const std::string& path);
void make_dirs(const std::string& path);
// Deletes a file or a directory tree (absent is fine); throws naming the first entry it cannot remove.
void remove_tree(const std::string& path);

}  // namespace fourmi::util
