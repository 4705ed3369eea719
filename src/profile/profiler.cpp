#include "fourmi/profile/profiler.h"

#include <fmt/format.h>
#include <ATen/SequenceNumber.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>

namespace fourmi::profile {
namespace {

std::string qualified(const std::string& name, int layer) {
  return layer >= 0 ? fmt::format("layer{}.{}", layer, name) : name;
}

// Runs after an autograd node of a timed op: the node passed gradient to the op's input, so the
// op's backward has (at least partly) finished; the last such node to run marks its end.
class AfterInputGradient : public torch::autograd::FunctionPostHook {
 public:
  AfterInputGradient(Profiler* profiler, int record) : profiler_(profiler), record_(record) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    profiler_->on_backward_mark(record_, false);
    return outputs;
  }

 private:
  Profiler* profiler_;
  int record_;
};

// Hooks the nodes that the op created (autograd sequence number >= first_seq) and that send
// gradient straight to `in`: no extra node in the graph, and an input shared with another op
// (the skip path's x) still gives this op its own end.
void hook_input_side(Profiler* profiler, int record, const torch::Tensor& in, const torch::Tensor& out,
                     uint64_t first_seq) {
  const auto target = torch::autograd::impl::gradient_edge(in).function.get();
  const auto& root = out.grad_fn();
  if (!target || !root || root->sequence_nr() < first_seq) return;
  std::vector<torch::autograd::Node*> todo{root.get()}, seen{root.get()};
  while (!todo.empty()) {
    torch::autograd::Node* node = todo.back();
    todo.pop_back();
    bool feeds_input = false;
    for (const auto& edge : node->next_edges()) {
      torch::autograd::Node* next = edge.function.get();
      if (!next) continue;
      if (next == target) {
        feeds_input = true;
      } else if (next->sequence_nr() >= first_seq && std::find(seen.begin(), seen.end(), next) == seen.end()) {
        seen.push_back(next);
        todo.push_back(next);
      }
    }
    if (feeds_input) node->add_post_hook(std::make_unique<AfterInputGradient>(profiler, record));
  }
}

}  // namespace

// Adds the host time of one profiler call to the profiler's own-cost counter (reported per step,
// so that a profile says what the profiler itself took from a host-bound step).
class HostTimer {
 public:
  explicit HostTimer(Profiler* p) : p_(p), t0_(std::chrono::steady_clock::now()) {}
  ~HostTimer() {
    p_->host_ns_.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0_).count(),
        std::memory_order_relaxed);
  }

 private:
  Profiler* p_;
  std::chrono::steady_clock::time_point t0_;
};

namespace {

void add_to(OpCost& total, const OpCost& c) {
  total.flops += c.flops;
  total.bytes += c.bytes;
}

const char* precision_of(const std::string& kind, bool tf32_gemm) {
  if (kind == "linear" || kind == "spectral_mix" || kind == "dft") return tf32_gemm ? "tf32" : "fp32";
  return "fp32";
}

}  // namespace

Profiler::Profiler(torch::Device device, distributed::CommLog* comm_log, bool tf32, int op_samples)
    : device_(device),
      log_(comm_log),
      tf32_(tf32 && device.is_cuda()),
      op_samples_(std::max(0, op_samples)),
      clock_(device) {}

Profiler::~Profiler() {
  if (log_) log_->set_device_timing(false);
}

void Profiler::prepare_step() {
  // Four marks per timed op (forward and backward ends) plus the step's phases; the largest
  // step seen so far sets the size, with room for the first one.
  size_t most = 64;
  for (const auto& s : steps_) most = std::max(most, 4 * s.ops.size() + s.phases.size() + 2);
  clock_.reserve(2 * most);
}

void Profiler::begin_step(double data_wait_ms) {
  host_ns_at_begin_ = host_ns_.load();
  HostTimer timer(this);
  Step s;
  s.host_start_ms = steady_ms();
  s.comm_log_start_s = log_ ? log_->now() : 0.0;
  s.data_wait_ms = data_wait_ms;
  s.comm_first = log_ ? log_->size() : 0;
  s.start = clock_.mark();
  {
    std::lock_guard<std::mutex> lock(mu_);
    steps_.push_back(std::move(s));
  }
  call_index_ = 0;
  if (log_) log_->set_device_timing(clock_.on_gpu());
  recording_.store(true);
}

void Profiler::mark(const std::string& phase) {
  HostTimer timer(this);
  int id = clock_.mark();
  std::lock_guard<std::mutex> lock(mu_);
  steps_.back().phases[phase] = id;
}

void Profiler::mark_wait(bool begin) {
  HostTimer timer(this);
  int id = clock_.mark();
  std::lock_guard<std::mutex> lock(mu_);
  auto& waits = steps_.back().waits;
  if (begin)
    waits.push_back({id, -1});
  else if (!waits.empty() && waits.back().second < 0)
    waits.back().second = id;
}

void Profiler::end_step() {
  mark("step_end");
  recording_.store(false);
  HostTimer timer(this);
  if (steps_.size() == 1 && op_samples_ > 0) {  // the first step timed every call and counted them
    calls_per_step_ = call_index_;
    const int64_t later = std::max<int64_t>(1, planned_steps_ - 1);
    calls_timed_ = std::clamp<int64_t>((calls_per_step_ * op_samples_ + later - 1) / later, 1,
                                       std::max<int64_t>(1, calls_per_step_));
  }
  if (log_) log_->set_device_timing(false);
  std::lock_guard<std::mutex> lock(mu_);
  steps_.back().comm_last = log_ ? log_->size() : 0;
  steps_.back().host_ns = host_ns_.load() - host_ns_at_begin_;
}

size_t Profiler::op_index(const std::string& name, int layer, const char* kind,
                          const std::function<OpCost()>& cost_of) {
  std::string full = qualified(name, layer);
  auto it = op_by_name_.find(full);
  if (it != op_by_name_.end()) return it->second;
  const OpCost cost = cost_of();
  OpInfo info{full, kind, precision_of(kind, tf32_), layer, cost, backward_of(cost, kind), 1};
  ops_.push_back(info);
  op_by_name_[full] = ops_.size() - 1;
  return ops_.size() - 1;
}

bool Profiler::timed_now() {
  const int64_t call = call_index_++;
  if (op_samples_ == 0 || steps_.size() <= 1 || calls_per_step_ == 0) return true;
  const int64_t rounds = (calls_per_step_ + calls_timed_ - 1) / calls_timed_;  // steps to time every call once
  return (call / calls_timed_) % rounds == static_cast<int64_t>(steps_.size() - 2) % rounds;
}

torch::Tensor Profiler::run_op(const std::string& name, int layer, const char* kind,
                               const std::function<OpCost()>& cost, const torch::Tensor& in,
                               const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
  if (!timed_now()) return fn(in);
  const bool grads = torch::GradMode::is_enabled();
  int64_t record;
  std::optional<HostTimer> timer(this);
  {
    std::lock_guard<std::mutex> lock(mu_);
    size_t op = op_index(name, layer, kind, cost);
    if (steps_.size() == 1) add_to(ops_[op].first_step_total, ops_[op].forward);
    steps_.back().ops.push_back({op});
    record = static_cast<int64_t>(steps_.back().ops.size() - 1);
  }
  const uint64_t first_seq = at::sequence_number::peek();
  int start = clock_.mark();
  timer.reset();
  torch::Tensor y = fn(in);
  timer.emplace(this);
  int end = clock_.mark();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& r = steps_.back().ops[record];
    r.fwd_start = start;
    r.fwd_end = end;
  }
  if (grads && y.requires_grad()) {
    // Backward starts when the gradient of the op's output is complete (a hook on the output) and
    // ends after the last of the op's nodes that feed its input's gradient (post hooks).
    y.register_hook([this, record](const torch::Tensor&) { on_backward_mark(static_cast<int>(record), true); });
    if (in.requires_grad()) hook_input_side(this, static_cast<int>(record), in, y, first_seq);
  }
  return y;
}

void Profiler::time_block(const std::string& name, const char* kind, OpCost cost, const std::function<void()>& fn) {
  if (!timed_now()) return fn();
  int64_t record;
  std::optional<HostTimer> timer(this);
  {
    std::lock_guard<std::mutex> lock(mu_);
    size_t op = op_index(name, -1, kind, [&] { return cost; });
    if (steps_.size() == 1) add_to(ops_[op].first_step_total, cost);
    steps_.back().ops.push_back({op});
    record = static_cast<int64_t>(steps_.back().ops.size() - 1);
  }
  int start = clock_.mark();
  timer.reset();
  fn();
  timer.emplace(this);
  int end = clock_.mark();
  std::lock_guard<std::mutex> lock(mu_);
  steps_.back().ops[record].fwd_start = start;
  steps_.back().ops[record].fwd_end = end;
}

void Profiler::on_backward_mark(int record, bool output_side) {
  HostTimer timer(this);
  int id = clock_.mark();
  std::lock_guard<std::mutex> lock(mu_);
  auto& r = steps_.back().ops.at(record);
  (output_side ? r.bwd_start : r.bwd_end) = id;
}

void Profiler::finish() {
  if (finished_ || steps_.empty()) return;
  clock_.synchronize();
  const auto records = log_ ? log_->records() : std::vector<distributed::CommRecord>{};
  std::vector<double> fwd_ms(ops_.size(), 0), bwd_ms(ops_.size(), 0);
  std::vector<int> bwd_seen(ops_.size(), 0), fwd_seen(ops_.size(), 0);
  double sum_step = 0, sum_compute = 0, sum_comm_exposed = 0, sum_data = 0, sum_ops = 0, comm_total = 0,
         comm_overlap = 0;
  double min_step = 1e30, max_step = 0;
  nlohmann::json comm = nlohmann::json::array(), per_step = nlohmann::json::array();
  for (size_t si = 0; si < steps_.size(); ++si) {
    const Step& s = steps_[si];
    auto at = [&](const char* phase) {
      auto it = s.phases.find(phase);
      return it == s.phases.end() ? -1.0 : clock_.elapsed_ms(s.start, it->second);
    };
    const double t_end = at("step_end"), t_bwd = at("backward_end"), t_red = at("reduce_end");
    const double bwd_end = t_bwd >= 0 ? t_bwd : t_end, red_end = t_red >= 0 ? t_red : bwd_end;
    // The compute stream's waits for reductions; without them, one wait from backward's end to reduce_end.
    std::vector<std::pair<double, double>> waits;
    for (const auto& [b, e] : s.waits)
      if (e >= 0) waits.push_back({clock_.elapsed_ms(s.start, b), clock_.elapsed_ms(s.start, e)});
    if (s.waits.empty()) waits.push_back({bwd_end, red_end});
    double exposed = 0;
    std::vector<Span> spans;
    spans.push_back({"data wait", 2, -s.data_wait_ms, s.data_wait_ms});
    for (const auto& [b, e] : waits) {
      exposed += std::max(0.0, e - b);
      if (e > b) spans.push_back({"wait for reduction", 0, b, e - b});
    }
    for (const auto& r : s.ops) {
      const OpInfo& info = ops_[r.op];
      double f0 = clock_.elapsed_ms(s.start, r.fwd_start), f1 = clock_.elapsed_ms(s.start, r.fwd_end);
      fwd_ms[r.op] += f1 - f0;
      fwd_seen[r.op] += 1;
      spans.push_back({info.name + (info.kind == "optimizer" ? "" : " fwd"), 0, f0, f1 - f0});
      if (r.bwd_start >= 0 && r.bwd_end >= 0) {
        double b0 = clock_.elapsed_ms(s.start, r.bwd_start), b1 = clock_.elapsed_ms(s.start, r.bwd_end);
        bwd_ms[r.op] += std::max(0.0, b1 - b0);
        bwd_seen[r.op] += 1;
        spans.push_back({info.name + " bwd", 0, b0, std::max(0.0, b1 - b0)});
      }
    }
    for (size_t k = s.comm_first; k < s.comm_last && k < records.size(); ++k) {
      distributed::CommRecord r = records[k];
      double start_ms, dur_ms;
      if (r.device_start && r.device_end) {
        start_ms = clock_.elapsed_to_event_ms(s.start, r.device_start.get());
        if (r.device_after) start_ms = std::max(start_ms, clock_.elapsed_to_event_ms(s.start, r.device_after.get()));
        dur_ms = clock_.elapsed_to_event_ms(s.start, r.device_end.get()) - start_ms;
      } else {
        start_ms = (r.start_s - s.comm_log_start_s) * 1e3;
        dur_ms = r.duration_s * 1e3;
      }
      r.duration_s = dur_ms * 1e-3;
      // Overlapped: the part of the collective during which the compute stream was not waiting for it.
      double waited = 0;
      for (const auto& [b, e] : waits) waited += std::max(0.0, std::min(start_ms + dur_ms, e) - std::max(start_ms, b));
      const double overlapped = std::clamp(dur_ms - waited, 0.0, dur_ms);
      comm_total += dur_ms;
      comm_overlap += overlapped;
      comm.push_back({{"step", si},
                      {"op", r.op},
                      {"group", r.group},
                      {"dtype", r.dtype},
                      {"bytes", r.bytes},
                      {"ranks", r.ranks},
                      {"start_ms", start_ms},
                      {"duration_ms", dur_ms},
                      {"algbw_gbs", r.algbw() / 1e9},
                      {"busbw_gbs", r.busbw() / 1e9},
                      {"overlap_pct", dur_ms > 0 ? 100.0 * overlapped / dur_ms : 100.0}});
      spans.push_back({fmt::format("{} {} {:.1f} MB", r.group, r.op, r.bytes / 1e6), 1, start_ms, dur_ms});
    }
    const double compute = t_end - exposed;
    const double step = t_end + s.data_wait_ms;
    sum_step += step;
    min_step = std::min(min_step, step);
    max_step = std::max(max_step, step);
    sum_compute += compute;
    sum_comm_exposed += exposed;
    sum_data += s.data_wait_ms;
    spans_.push_back(std::move(spans));
    per_step.push_back({{"step_ms", step}, {"backward_end_ms", bwd_end}, {"comm_exposed_ms", exposed}});
    step_host_start_.push_back(s.host_start_ms);
  }
  const double n = static_cast<double>(steps_.size());
  // The first profiled step timed every call: it gives the calls per step and, when calls differ
  // in size (the optimizer per bucket), the mean cost per call.
  std::vector<int> first_calls(ops_.size(), 0);
  for (const auto& r : steps_.front().ops) first_calls[r.op] += 1;
  nlohmann::json ops = nlohmann::json::array();
  for (size_t i = 0; i < ops_.size(); ++i) {
    // Per-call means over the steps in which the op was timed (all of them, or its turn when sampling).
    OpInfo& o = ops_[i];
    o.calls_per_step = std::max(1, first_calls[i]);
    if (first_calls[i] > 1)
      o.forward = {o.first_step_total.flops / first_calls[i], o.first_step_total.bytes / first_calls[i]};
    const double f = fwd_seen[i] ? fwd_ms[i] / fwd_seen[i] : 0.0, b = bwd_seen[i] ? bwd_ms[i] / bwd_seen[i] : 0.0;
    sum_ops += (f + b) * o.calls_per_step;
    const bool block = o.kind == "optimizer";
    ops.push_back({{"name", o.name},
                   {"kind", o.kind},
                   {"phase", block ? "step" : "forward"},
                   {"layer", o.layer},
                   {"precision", o.precision},
                   {"flops", o.forward.flops},
                   {"bytes", o.forward.bytes},
                   {"time_ms", f},
                   {"calls_per_step", o.calls_per_step},
                   {"samples", fwd_seen[i]}});
    if (bwd_seen[i] > 0)
      ops.push_back({{"name", o.name},
                     {"kind", o.kind},
                     {"phase", "backward"},
                     {"layer", o.layer},
                     {"precision", o.precision},
                     {"flops", o.backward.flops},
                     {"bytes", o.backward.bytes},
                     {"time_ms", b},
                     {"calls_per_step", o.calls_per_step},
                     {"samples", bwd_seen[i]}});
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
  };
  // Medians: a host-bound step's wall time has rare long outliers (scheduler, page faults) that
  // would swamp a few-percent difference in the means.
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const size_t h = v.size() / 2;
    return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
  };
  const double plain = median(wall_plain_), prof = median(wall_profiled_);
  std::vector<double> host_ms;
  for (const auto& s : steps_) host_ms.push_back(static_cast<double>(s.host_ns) * 1e-6);
  summary_ = {
      {"steps",
       {{"profiled", steps_.size()},
        {"step_ms_mean", sum_step / n},
        {"step_ms_min", min_step},
        {"step_ms_max", max_step},
        {"compute_ms", sum_compute / n},
        {"comm_exposed_ms", sum_comm_exposed / n},
        {"data_wait_ms", sum_data / n},
        {"other_ms", std::max(0.0, sum_compute / n - sum_ops)},
        {"op_sampling", op_samples_ > 0 ? fmt::format("{} of {} op calls per profiled step, round robin in call order "
                                                      "(every call in the first)",
                                                      calls_timed_, calls_per_step_)
                                        : std::string("every op every step")},
        {"profiler_host_ms", median(host_ms)},
        {"profiler_host_ms_max", *std::max_element(host_ms.begin(), host_ms.end())},
        {"wall_ms_profiled", prof},
        {"wall_ms_unprofiled", plain},
        {"wall_ms_profiled_mean", mean(wall_profiled_)},
        {"wall_ms_unprofiled_mean", mean(wall_plain_)},
        {"unprofiled_step_ms_mean", wall_plain_.empty() ? nlohmann::json() : nlohmann::json(mean(wall_plain_))},
        {"overhead_pct", wall_plain_.empty() || wall_profiled_.empty()
                             ? nlohmann::json()
                             : nlohmann::json(100.0 * (prof - plain) / plain)}}},
      {"ops", ops},
      {"per_step", per_step},
      {"comm", comm},
      {"comm_summary",
       {{"total_ms_per_step", comm_total / n},
        {"exposed_ms_per_step", sum_comm_exposed / n},
        {"overlap_pct", comm_total > 0 ? 100.0 * comm_overlap / comm_total : 100.0}}}};
  finished_ = true;
}

nlohmann::json Profiler::summary() const { return summary_; }

nlohmann::json Profiler::trace_events(int rank) const {
  nlohmann::json ev = nlohmann::json::array();
  const char* names[] = {"compute stream", "communication stream", "data loader"};
  for (int tid = 0; tid < 3; ++tid)
    ev.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", rank}, {"tid", tid}, {"args", {{"name", names[tid]}}}});
  for (size_t si = 0; si < spans_.size(); ++si)
    for (const auto& s : spans_[si]) {
      if (s.dur_ms <= 0 && s.tid == 2) continue;
      ev.push_back({{"name", s.name},
                    {"ph", "X"},
                    {"pid", rank},
                    {"tid", s.tid},
                    {"ts", (step_host_start_[si] + s.start_ms) * 1e3},
                    {"dur", s.dur_ms * 1e3},
                    {"args", {{"step", si}}}});
    }
  return ev;
}

}  // namespace fourmi::profile
