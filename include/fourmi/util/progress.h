// progress.h — a progress bar with ETA on a TTY; plain periodic lines otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fourmi::util {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, bool enabled = true);
  void update(int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");

 private:
  std::string label_;
  int64_t total_;
  bool enabled_, tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
};

std::string format_duration(double seconds);

}  // namespace fourmi::util
