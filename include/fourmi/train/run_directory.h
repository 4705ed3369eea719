// run_directory.h — the directory of one training run (<run.dir>/<run.name>): who may write it,
// and what a fresh start, a resume or an overwrite finds and leaves there.
//
// Contract: the process that writes the run's files (world rank 0) holds a RunDirectoryLock for
// the whole command; a second fourmi process on the same directory is refused instead of
// interleaving its metrics and checkpoints with the first. The lock is an flock on <dir>/.lock,
// so it is released by the kernel when the process ends, however it ends. Other ranks write
// only mode-parallel checkpoint shards, after rank 0 has taken the lock.
#pragma once

#include <string>

namespace fourmi::train {

class RunDirectoryLock {
 public:
  // Creates `dir`, takes the lock (throws naming the holder's pid and host when another process
  // has it) and removes temporary files left in the directory by writers that died mid-write.
  explicit RunDirectoryLock(const std::string& dir);
  ~RunDirectoryLock();
  RunDirectoryLock(const RunDirectoryLock&) = delete;
  RunDirectoryLock& operator=(const RunDirectoryLock&) = delete;
  // Temporary files removed when the lock was taken.
  int removed_temp_files() const { return removed_; }

 private:
  int fd_ = -1;
  int removed_ = 0;
};

// What `fourmi train` does with the run directory.
enum class RunStart {
  kFresh,       // refuse a directory that already holds a run's checkpoints or metrics
  kOverwrite,   // delete the previous run's checkpoints, metrics, results and profiles first
  kResume,      // continue from the newest checkpoint (one must exist)
  kAutoResume,  // continue when there is a checkpoint, else start fresh (requeued batch jobs)
};

// Applies `start` before anything is written: throws for a fresh start into a used directory
// (naming what is there and the flags that proceed), deletes for kOverwrite. Called by the lock holder.
void prepare_run_directory(const std::string& dir, RunStart start);
// Removes "<name>.tmp.<pid>" files under `dir` whose writing process no longer runs; returns how many.
int remove_stale_temp_files(const std::string& dir);

}  // namespace fourmi::train
