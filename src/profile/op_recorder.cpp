#include "fourmi/profile/op_recorder.h"

#include <fmt/format.h>

#include "fourmi/debug/finite_checks.h"
#include "fourmi/profile/profiler.h"

namespace fourmi::profile {

Profiler* OpRecorder::recording() const { return profiler_ && profiler_->recording() ? profiler_ : nullptr; }

torch::Tensor OpRecorder::run(const std::string& name, const char* kind, const std::function<OpCost()>& cost,
                              const torch::Tensor& in,
                              const std::function<torch::Tensor(const torch::Tensor&)>& fn) const {
  Profiler* p = recording();
  auto timed = [&](const torch::Tensor& x) { return p ? p->run_op(name, layer_, kind, cost, x, fn) : fn(x); };
  if (!check_finite_) return timed(in);
  return debug::with_finite_checks(layer_ >= 0 ? fmt::format("layer{}.{}", layer_, name) : name, in, timed);
}

}  // namespace fourmi::profile
