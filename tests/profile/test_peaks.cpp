// The roofline placement of ops and the step's roofline bound, on hand-made ops and ceilings.
#include <gtest/gtest.h>

#include "fourmi/profile/peaks.h"

using fourmi::profile::Peaks;

namespace {

Peaks ceilings() {
  Peaks p;
  p.fp32_flops = 50e12;
  p.tf32_flops = 400e12;
  p.mem_bytes_per_s = 4e12;
  return p;
}

nlohmann::json op(double flops, double bytes, double time_ms, const char* precision) {
  return {{"flops", flops}, {"bytes", bytes}, {"time_ms", time_ms}, {"precision", precision}};
}

}  // namespace

// A memory-bound op (4 GB at 4 TB/s: 1 ms) and a compute-bound one (0.8 TFLOP at 400 TFLOP/s: 2 ms).
TEST(Roofline, BoundSumsEachOpsSlowerCeiling) {
  nlohmann::json ops = nlohmann::json::array({op(1e9, 4e9, 2.0, "fp32"), op(0.8e12, 1e9, 4.0, "tf32")});
  EXPECT_NEAR(fourmi::profile::roofline_bound_ms(ops, ceilings()), 3.0, 1e-9);
  // the same FLOPs in fp32 take 16 ms at 50 TFLOP/s
  ops[1]["precision"] = "fp32";
  EXPECT_NEAR(fourmi::profile::roofline_bound_ms(ops, ceilings()), 17.0, 1e-9);
}

TEST(Roofline, PlacesOpsAgainstTheirCeiling) {
  nlohmann::json ops = nlohmann::json::array({op(1e9, 4e9, 2.0, "fp32"), op(0.8e12, 1e9, 4.0, "tf32")});
  fourmi::profile::place_on_roofline(ops, ceilings());
  EXPECT_EQ(ops[0]["bound"], "memory");
  EXPECT_NEAR(ops[0]["roofline_pct"].get<double>(), 50.0, 1e-9);  // 1 ms of work in 2 ms
  EXPECT_EQ(ops[1]["bound"], "compute");
  EXPECT_NEAR(ops[1]["roofline_pct"].get<double>(), 50.0, 1e-9);  // 2 ms of work in 4 ms
}
