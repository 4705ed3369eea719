#include "fourmi/util/progress.h"

#include <fmt/format.h>

#include <cstdio>

#include "fourmi/util/log.h"

namespace fourmi::util {

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return fmt::format("{}h{:02d}m", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
}

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && log_rank() == 0),
      tty_(stdout_is_tty()),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int64_t done, const std::string& status) {
  if (!enabled_ || total_ <= 0) return;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double frac = static_cast<double>(done) / static_cast<double>(total_);
  double eta = done > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
  if (tty_) {
    const int width = 30;
    int filled = static_cast<int>(frac * width);
    std::printf("\r%s [%s%s] %ld/%ld %s<%s %s\033[K", label_.c_str(), std::string(filled, '#').c_str(),
                std::string(width - filled, '.').c_str(), static_cast<long>(done), static_cast<long>(total_),
                format_duration(elapsed).c_str(), format_duration(eta).c_str(), status.c_str());
    std::fflush(stdout);
  } else {
    int decile = static_cast<int>(frac * 10);
    if (decile != last_decile_) {
      last_decile_ = decile;
      log_line(fmt::format("{} {}/{} ({:.0f}%) elapsed {} eta {} {}", label_, done, total_, 100 * frac,
                           format_duration(elapsed), format_duration(eta), status));
    }
  }
}

void ProgressBar::finish(const std::string& status) {
  if (!enabled_) return;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (tty_) std::printf("\n");
  log_line(fmt::format("{} done in {} {}", label_, format_duration(elapsed), status));
}

}  // namespace fourmi::util
