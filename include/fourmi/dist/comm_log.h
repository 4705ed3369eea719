// comm_log.h — a record of every collective, for the communication profile.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace fourmi::dist {

struct CommRecord {
  std::string op;       // all_reduce | broadcast | all_gather | reduce_scatter | barrier
  std::string group;    // world | data | modes
  std::string dtype;
  int64_t bytes = 0;    // payload per rank
  int ranks = 1;
  double start_s = 0;   // seconds since the log's epoch
  double duration_s = 0;
  double algbw() const { return duration_s > 0 ? bytes / duration_s : 0; }
  // nccl-tests bus bandwidth: all-reduce 2(n-1)/n, all-gather and reduce-scatter (n-1)/n.
  double busbw() const;
};

// Thread-safe append-only log shared by a rank's communicators.
class CommLog {
 public:
  CommLog();
  void add(CommRecord r);
  double now() const;  // seconds since construction (steady clock)
  std::vector<CommRecord> records() const;
  void clear();

 private:
  mutable std::mutex mu_;
  std::vector<CommRecord> records_;
  int64_t epoch_ns_;
};

}  // namespace fourmi::dist
