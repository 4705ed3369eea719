// startup_watchdog.h — a bound on a multi-rank job's start-up (MPI_Init, the communicators, NCCL's
// initialisation), which no collective timeout covers: a rank that never starts, or stalls before
// MPI is up, would otherwise keep every other rank waiting in MPI_Init for ever.
//
// Contract: created on the main thread before MPI_Init; a helper thread waits `timeout_s`, and if
// disarm() (or the destructor) has not come by then it ends this process with a message naming
// the rank, the host and the phase. The launcher (mpirun, srun) then ends the other ranks. A
// timeout of 0 disables it (single-process runs).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace fourmi::distributed {

class StartupWatchdog {
 public:
  StartupWatchdog(double timeout_s, int rank, std::string phase);
  ~StartupWatchdog();
  StartupWatchdog(const StartupWatchdog&) = delete;
  StartupWatchdog& operator=(const StartupWatchdog&) = delete;
  void disarm();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  std::thread thread_;
};

}  // namespace fourmi::distributed
