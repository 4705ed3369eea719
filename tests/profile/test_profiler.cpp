// The step profiler on CPU: which op calls each profiled step times (every op, or a few round
// robin in call order), forward and backward times for each timed op, and the summary's counts.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "fourmi/profile/op_recorder.h"
#include "fourmi/profile/profiler.h"

using namespace fourmi::profile;

namespace {

constexpr int kOps = 7;

// One profiled training-like step: kOps chained elementwise ops, a backward, the step's marks.
void profiled_step(Profiler& p) {
  p.prepare_step();
  p.begin_step(0.0);
  torch::Tensor w = torch::ones({64}, torch::requires_grad());
  torch::Tensor x = w;
  OpRecorder recorder(&p, /*check_finite=*/false);
  for (int i = 0; i < kOps; ++i)
    x = recorder.run(
        "op" + std::to_string(i), "elementwise", [] { return elementwise_cost(64, 1, 1.0); }, x,
        [](const torch::Tensor& t) { return torch::sin(t) * 1.5; });
  x.sum().backward();
  p.mark("backward_end");
  p.mark("reduce_end");
  p.end_step();
}

// Forward and backward samples of each op in the summary.
std::map<std::string, std::pair<int, int>> samples_by_op(const nlohmann::json& summary) {
  std::map<std::string, std::pair<int, int>> out;
  for (const auto& op : summary.at("ops")) {
    auto& s = out[op.at("name").get<std::string>()];
    (op.at("phase") == "backward" ? s.second : s.first) = op.at("samples").get<int>();
  }
  return out;
}

}  // namespace

TEST(Profiler, EveryOpEveryStepWithoutSampling) {
  Profiler p(torch::kCPU, nullptr, false, /*op_samples=*/0);
  p.plan_steps(4);
  for (int s = 0; s < 4; ++s) profiled_step(p);
  p.finish();
  auto samples = samples_by_op(p.summary());
  ASSERT_EQ(samples.size(), static_cast<size_t>(kOps));
  for (const auto& [name, fb] : samples) {
    EXPECT_EQ(fb.first, 4) << name;
    EXPECT_EQ(fb.second, 4) << name;  // backward timed through the hooks
  }
  EXPECT_EQ(p.summary()["steps"]["op_sampling"], "every op every step");
}

TEST(Profiler, SamplingTimesFewOpsPerStepAndEveryOpAtLeastOpSamplesTimes) {
  const int op_samples = 2, steps = 8;
  Profiler p(torch::kCPU, nullptr, false, op_samples);
  p.plan_steps(steps);
  for (int s = 0; s < steps; ++s) profiled_step(p);
  p.finish();
  // The first step times all 7 calls; then k = ceil(7 * 2 / 7) = 2 calls per step, round robin
  // over ceil(7 / 2) = 4 runs of calls: op0-1, op2-3, op4-5, op6.
  auto samples = samples_by_op(p.summary());
  ASSERT_EQ(samples.size(), static_cast<size_t>(kOps));
  int total = 0;
  for (const auto& [name, fb] : samples) {
    EXPECT_GE(fb.first, op_samples) << name;
    EXPECT_EQ(fb.second, fb.first) << name;
    total += fb.first;
  }
  EXPECT_EQ(total, kOps + 6 * 2 + 1);  // steps 1..7 time runs 0, 1, 2, 3 (one call), 0, 1, 2
  const std::map<std::string, int> expected{{"op0", 3}, {"op1", 3}, {"op2", 3}, {"op3", 3},
                                            {"op4", 3}, {"op5", 3}, {"op6", 2}};
  for (const auto& [name, n] : expected) EXPECT_EQ(samples[name].first, n) << name;
  EXPECT_EQ(p.summary()["steps"]["op_sampling"],
            "2 of 7 op calls per profiled step, round robin in call order (every call in the first)");
}

TEST(Profiler, FewPlannedStepsTimeMoreOpsPerStep) {
  Profiler p(torch::kCPU, nullptr, false, /*op_samples=*/3);
  p.plan_steps(2);  // one step after the first: it must time every call to reach 3 samples at all
  for (int s = 0; s < 2; ++s) profiled_step(p);
  p.finish();
  for (const auto& [name, fb] : samples_by_op(p.summary())) EXPECT_EQ(fb.first, 2) << name;
}

TEST(Profiler, ReportsItsOwnHostTimePerStep) {
  Profiler p(torch::kCPU, nullptr, false, /*op_samples=*/0);
  p.plan_steps(3);
  for (int s = 0; s < 3; ++s) profiled_step(p);
  p.finish();
  const nlohmann::json summary = p.summary();
  const auto& st = summary["steps"];
  // Every op timed: marks, hooks and bookkeeping take some host time, and less than the step.
  EXPECT_GT(st["profiler_host_ms"].get<double>(), 0.0);
  EXPECT_GE(st["profiler_host_ms_max"].get<double>(), st["profiler_host_ms"].get<double>());
  EXPECT_LT(st["profiler_host_ms"].get<double>(), st["step_ms_max"].get<double>());
}
