#include "fourmi/distributed/comm_log.h"

#include <chrono>

namespace fourmi::distributed {

double CommRecord::busbw() const {
  const double n = ranks;
  if (n <= 1) return algbw();
  if (op == "all_reduce") return algbw() * 2.0 * (n - 1) / n;
  // "_ce": the same collective on the copy engines (NCCL backend, gather buffers).
  auto is = [&](const char* name) { return op == name || op == std::string(name) + "_ce"; };
  if (is("all_gather") || is("reduce_scatter")) return algbw() * (n - 1) / n;
  return algbw();
}

static int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

CommLog::CommLog() : epoch_ns_(steady_ns()) {}
double CommLog::now() const { return static_cast<double>(steady_ns() - epoch_ns_) * 1e-9; }
void CommLog::add(CommRecord r) {
  if (paused_.load()) return;
  std::lock_guard<std::mutex> lock(mu_);
  records_.push_back(std::move(r));
}
std::vector<CommRecord> CommLog::records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_;
}
size_t CommLog::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return records_.size();
}
void CommLog::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  records_.clear();
}

}  // namespace fourmi::distributed
