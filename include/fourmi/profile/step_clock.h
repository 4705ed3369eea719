// step_clock.h — timestamps in the order work runs: CUDA events on the current stream of a
// GPU, the steady clock on the CPU (where ops run synchronously on the calling thread).
//
// Contract: mark() may be called from any thread (autograd's backward thread included);
// resolve() is called on the training thread after the marked work was queued, and waits
// for it. Times are milliseconds relative to a chosen earlier mark.
#pragma once

#include <torch/types.h>

#include <memory>
#include <mutex>
#include <vector>

namespace fourmi::profile {

class StepClock {
 public:
  explicit StepClock(torch::Device device);
  ~StepClock();
  StepClock(const StepClock&) = delete;
  StepClock& operator=(const StepClock&) = delete;

  bool on_gpu() const { return device_.is_cuda(); }
  int mark();  // returns the mark's id
  // Creates CUDA events up front so that at least `free_marks` more marks record without
  // creating one (creation costs host time inside the measured step). No-op on the CPU.
  void reserve(size_t free_marks);
  // Waits for every mark, then returns ms of `id` after `origin` (may be negative).
  double elapsed_ms(int origin, int id);
  // Elapsed ms from mark `origin` to a foreign CUDA event (the NCCL stream's), GPU only.
  double elapsed_to_event_ms(int origin, void* cuda_event);
  void synchronize();
  void clear();  // forget all marks (events are reused)

 private:
  torch::Device device_;
  std::mutex mu_;
  std::vector<void*> events_;    // cudaEvent_t, pooled
  std::vector<double> host_ms_;  // CPU: steady clock in ms
  size_t used_ = 0;
  bool synced_ = false;
};

double steady_ms();  // the steady clock in ms (shared by every process on a node)

}  // namespace fourmi::profile
