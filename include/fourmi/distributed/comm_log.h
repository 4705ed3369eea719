// comm_log.h — a record of every collective, for the communication profile.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fourmi::distributed {

struct CommRecord {
  std::string op;  // all_reduce | broadcast | all_gather | reduce_scatter | barrier; all_gather_ce | reduce_scatter_ce:
                   // on the copy engines
  std::string group;  // world | data | modes
  std::string dtype;
  int64_t bytes = 0;  // payload per rank
  int ranks = 1;
  double start_s = 0;  // seconds since the log's epoch
  double duration_s = 0;
  // CUDA events when device timing is on (the profiler resolves them; the host times above are
  // then enqueue times): the collective starts at the later of device_start and device_after (the
  // end of the previous collective on the same stream, if timed) and ends at device_end.
  std::shared_ptr<void> device_start, device_end, device_after;
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
  size_t size() const;
  void clear();
  // When on, GPU backends record events around each collective (set by the profiler).
  void set_device_timing(bool on) { device_timing_.store(on); }
  bool device_timing() const { return device_timing_.load(); }
  // While paused, add() drops records: collectives that are not part of the work (the profiler's
  // rank alignment) stay out of the communication profile.
  void set_paused(bool on) { paused_.store(on); }

 private:
  mutable std::mutex mu_;
  std::vector<CommRecord> records_;
  int64_t epoch_ns_;
  std::atomic<bool> device_timing_{false};
  std::atomic<bool> paused_{false};
};

}  // namespace fourmi::distributed
