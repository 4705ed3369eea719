// test_util.h — helpers shared by the tests: a temporary directory removed at scope exit, and
// the message of an expected exception.
#pragma once

#include <ftw.h>
#include <unistd.h>

#include <cstdio>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <random>
#include <string>

namespace fourmi::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("fourmi-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { remove_tree(path_.string()); }

  // Recursive delete with nftw: libtorch.so exports a std::filesystem::remove_all that crashes
  // when it interposes on the one our binaries were linked against.
  static void remove_tree(const std::string& path) {
    ::nftw(
        path.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return std::remove(p); }, 16,
        FTW_DEPTH | FTW_PHYS);
  }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& child) const { return (path_ / child).string(); }

 private:
  std::filesystem::path path_;
};

// The message of the exception `f` throws, "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace fourmi::testing
