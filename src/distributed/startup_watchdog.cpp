#include "fourmi/distributed/startup_watchdog.h"

#include <fmt/format.h>

#include <chrono>

#include "fourmi/distributed/mpi_communicator.h"

namespace fourmi::distributed {

StartupWatchdog::StartupWatchdog(double timeout_s, int rank, std::string phase) {
  if (timeout_s <= 0) return;
  thread_ = std::thread([this, timeout_s, rank, phase = std::move(phase)] {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, std::chrono::duration<double>(timeout_s), [this] { return disarmed_; })) return;
    abort_all_ranks(fmt::format("{} did not complete within {:.0f} s (parallel.timeout_s) on rank {}: a rank of this "
                                "job did not start, or stalled before joining; every rank must start fourmi",
                                phase, timeout_s, rank),
                    1);
  });
}

void StartupWatchdog::disarm() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    disarmed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

StartupWatchdog::~StartupWatchdog() { disarm(); }

}  // namespace fourmi::distributed
