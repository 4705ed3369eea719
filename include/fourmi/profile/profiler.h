// profiler.h — the per-rank step profiler: per-op times (forward and backward), the step's
// compute / exposed-communication / data-wait split, and every collective's device time.
//
// Contract: one Profiler per rank, owned by the trainer. The trainer brackets each profiled
// step with begin_step()/end_step() and marks its phases; model code runs its operations through
// an OpRecorder (op_recorder.h) that reaches run_op() only while a step is recorded. Backward times come
// from hooks, with no node added to the graph: a hook on the op's output fires when its
// gradient is complete (backward starts), post hooks on the op's own nodes that feed its input
// fire as the input gradient is produced (the last one ends the op's backward). Marks
// are resolved once, in finish(), so profiled steps add no host synchronisation of their own.
// Collectives launched during a profiled step are timed on the communication stream (NCCL)
// or by the host clock (MPI) and placed on the step's timeline.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fourmi/distributed/comm_log.h"
#include "fourmi/profile/op_cost.h"
#include "fourmi/profile/step_clock.h"

namespace fourmi::profile {

struct OpInfo {
  std::string name, kind, precision;
  int layer = -1;
  OpCost forward, backward;  // per call (the mean over a step's calls when they differ)
  int calls_per_step = 1;    // counted in the first profiled step, which times every call
  OpCost first_step_total;   // forward cost summed over the first profiled step's calls
};

class Profiler {
 public:
  // op_samples == 0 times every op in every profiled step. op_samples > 0 samples ops to keep the
  // profiler's host cost low (each timed op records four CUDA events): the first profiled step times
  // every op and counts the op calls of a step (G); later steps time consecutive runs of k calls in
  // call order, round robin, with k = ceil(G * op_samples / (planned steps - 1)), so that every op is
  // timed in about op_samples of the profiled steps and each step times as few ops as that allows.
  // The step split and the collectives are timed in every profiled step.
  Profiler(torch::Device device, distributed::CommLog* comm_log, bool tf32, int op_samples = 0);
  ~Profiler();

  // How many steps will be profiled (sets k above); before the first profiled step.
  void plan_steps(int64_t profiled_steps) { planned_steps_ = profiled_steps; }

  // Whether a profiled step is running (between begin_step and end_step).
  bool recording() const { return recording_.load(); }

  // Before a profiled step, outside its measured time: readies the step's timing events.
  void prepare_step();
  void begin_step(double data_wait_ms);
  void mark(const std::string& phase);  // forward_end | backward_end | reduce_end (then end_step)
  // Around each wait of the compute stream for a reduction (begin, then end): the step's exposed
  // communication is the sum of these waits. Without them it is reduce_end - backward_end.
  void mark_wait(bool begin);
  void end_step();
  // Resolves every mark (waits for the device) and aggregates the profiled steps.
  void finish();
  bool finished() const { return finished_; }
  size_t profiled_steps() const { return steps_.size(); }

  // Runs fn(in) as op `name`, timing its forward and, through autograd, its backward.
  // Ops of Fourier layer `layer` (>= 0) are named "layer2.fft"; `cost` is evaluated once, when the
  // op is first seen. Models reach it through an OpRecorder (op_recorder.h).
  torch::Tensor run_op(const std::string& name, int layer, const char* kind, const std::function<OpCost()>& cost,
                       const torch::Tensor& in, const std::function<torch::Tensor(const torch::Tensor&)>& fn);
  // Times an op with no autograd (the optimizer step); an op timed several times per step with
  // different costs (the optimizer per gradient bucket) reports the mean cost per call.
  void time_block(const std::string& name, const char* kind, OpCost cost, const std::function<void()>& fn);

  // {"steps", "ops", "comm", "comm_summary"}; ops carry flops, bytes and time per step.
  nlohmann::json summary() const;
  // Chrome trace events of the profiled steps (pid = rank; tid 0 compute, 1 comm, 2 data).
  nlohmann::json trace_events(int rank) const;
  // Step wall times measured around profiled and unprofiled steps, for the overhead figure.
  void add_wall_time(bool profiled, double ms) { (profiled ? wall_profiled_ : wall_plain_).push_back(ms); }

  // Called by the autograd nodes (any thread).
  void on_backward_mark(int record, bool output_side);

 private:
  struct OpRecord {
    size_t op;  // index into ops_
    int fwd_start = -1, fwd_end = -1, bwd_start = -1, bwd_end = -1;
  };
  struct Step {
    int start = -1;
    double host_start_ms = 0;  // steady clock at begin_step
    double comm_log_start_s = 0;
    double data_wait_ms = 0;
    std::map<std::string, int> phases;
    std::vector<std::pair<int, int>> waits;  // (begin, end) marks of the compute stream's waits
    int64_t host_ns = 0;                     // host time spent inside the profiler during this step
    std::vector<OpRecord> ops;
    size_t comm_first = 0, comm_last = 0;  // CommLog record range
  };
  struct Span {
    std::string name;
    int tid;
    double start_ms, dur_ms;
  };
  size_t op_index(const std::string& name, int layer, const char* kind, const std::function<OpCost()>& cost);
  bool timed_now();  // whether the current op call is timed in this step (counts the call)
  friend class HostTimer;

  torch::Device device_;
  distributed::CommLog* log_;
  bool tf32_;
  int op_samples_ = 0;
  int64_t planned_steps_ = 0;
  int64_t call_index_ = 0;      // op calls so far in the current profiled step
  int64_t calls_per_step_ = 0;  // G, counted in the first profiled step
  int64_t calls_timed_ = 1;     // k: consecutive calls timed per step after the first
  StepClock clock_;
  std::atomic<int64_t> host_ns_{0};  // host time inside the profiler's own calls, all steps
  std::atomic<bool> recording_{false};
  int64_t host_ns_at_begin_ = 0;
  std::mutex mu_;
  std::vector<OpInfo> ops_;
  std::map<std::string, size_t> op_by_name_;
  std::vector<Step> steps_;
  bool finished_ = false;
  std::vector<double> wall_profiled_, wall_plain_;
  // resolved by finish()
  nlohmann::json summary_;
  std::vector<std::vector<Span>> spans_;
  std::vector<double> step_host_start_;
};

}  // namespace fourmi::profile
