// fs.h — file helpers: atomic writes (temp file + rename) and checksums.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fourmi::util {

// Writes `text` to `path` through `path.tmp.<pid>` and a rename, so readers never see a
// half-written file. Creates parent directories.
void atomic_write_text(const std::string& path, const std::string& text);
// Renames a finished temporary file onto its final name (same directory, atomic).
void commit_file(const std::string& tmp_path, const std::string& final_path);
// CRC-32 (zlib) of the whole file, as 8 lowercase hex digits.
std::string file_crc32(const std::string& path);
// CRC-32 of each file, computed by up to `threads` threads (cold files are then read as several
// streams at once). Throws the first failure in path order.
std::vector<std::string> files_crc32(const std::vector<std::string>& paths, int threads);
std::string read_text(const std::string& path);
void make_dirs(const std::string& path);

}  // namespace fourmi::util
