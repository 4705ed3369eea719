// op_recorder.h — what runs around each named op of a model: the step profiler's timing while a
// profiled step runs, and debug.check_finite's NaN/Inf checks.
//
// Contract: the trainer (or a benchmark) owns one and hands it to the model (FNO::set_recorder);
// a model without one just runs its ops. Used from the thread that runs forward (backward's
// marks go through the profiler, which is thread-safe); set_layer is not.
#pragma once

#include <torch/types.h>

#include <functional>
#include <string>

#include "fourmi/profile/op_cost.h"

namespace fourmi::profile {

class Profiler;

class OpRecorder {
 public:
  OpRecorder() = default;
  OpRecorder(Profiler* profiler, bool check_finite) : profiler_(profiler), check_finite_(check_finite) {}
  // Times ops while `profiler` is recording a step (Profiler::recording()); null: never.
  void set_profiler(Profiler* profiler) { profiler_ = profiler; }
  // The profiler recording the step that runs now, or null.
  Profiler* recording() const;
  void set_check_finite(bool on) { check_finite_ = on; }
  // Ops run while set are named "layer<l>.<name>"; -1: no layer.
  void set_layer(int layer) { layer_ = layer; }

  // Runs fn(in) as op `name` of kind `kind`; `cost` is evaluated once, when the op is first timed.
  torch::Tensor run(const std::string& name, const char* kind, const std::function<OpCost()>& cost,
                    const torch::Tensor& in, const std::function<torch::Tensor(const torch::Tensor&)>& fn) const;

 private:
  Profiler* profiler_ = nullptr;
  bool check_finite_ = false;
  int layer_ = -1;
};

// recorder->run(...), or fn(in) without a recorder.
inline torch::Tensor run_op(const OpRecorder* recorder, const std::string& name, const char* kind,
                            const std::function<OpCost()>& cost, const torch::Tensor& in,
                            const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
  return recorder ? recorder->run(name, kind, cost, in, fn) : fn(in);
}

// RAII: names the ops of Fourier layer `layer` while in scope (no-op without a recorder).
class LayerScope {
 public:
  LayerScope(OpRecorder* recorder, int layer) : recorder_(recorder) {
    if (recorder_) recorder_->set_layer(layer);
  }
  ~LayerScope() {
    if (recorder_) recorder_->set_layer(-1);
  }
  LayerScope(const LayerScope&) = delete;
  LayerScope& operator=(const LayerScope&) = delete;

 private:
  OpRecorder* recorder_;
};

}  // namespace fourmi::profile
