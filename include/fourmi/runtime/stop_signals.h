// stop_signals.h — SIGUSR1, SIGTERM and SIGINT as a request to stop at the next step boundary.
//
// What a batch system sends before it ends a job (Slurm: `--signal=USR1@<s>` before the time
// limit, SIGTERM at the limit, on preemption and on scancel; mpirun forwards SIGUSR1) becomes a
// flag that the trainer polls: the ranks agree on it, write a checkpoint and the command exits
// with kExitStopped. A second SIGTERM or SIGINT while the first is being served ends the process
// at once (the default action), so an impatient Ctrl-C still works.
//
// Contract: at most one StopSignals per process, created on the main thread; while it lives the
// three handlers are installed, and its destructor restores the previous ones. The flag is the
// process's signal state (a signal handler can only reach process-wide storage), read through
// requested(); nothing else in fourmi reads it.
#pragma once

namespace fourmi::runtime {

// Exit status of a command that stopped on a signal after saving its work ("try again": EX_TEMPFAIL).
inline constexpr int kExitStopped = 75;

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // The first signal received since construction (SIGUSR1, SIGTERM or SIGINT), 0 if none.
  static int requested();
  // "SIGUSR1", "SIGTERM", "SIGINT", or "a signal" for any other.
  static const char* name(int signal);
};

}  // namespace fourmi::runtime
