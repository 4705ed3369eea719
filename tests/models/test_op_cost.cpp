// Analytic FLOP and byte counts of the profiler against values worked out by hand on small layers.
#include <gtest/gtest.h>

#include <cmath>

#include "fourmi/profile/op_cost.h"

using namespace fourmi::profile;

TEST(OpCost, RealFftOfA1dField) {
  // 2 fields of 8 points: 2.5 * 8 * 3 flops each; 8 floats in, 5 complex values out.
  OpCost c = real_fft_cost(2, {8});
  EXPECT_DOUBLE_EQ(c.flops, 2 * 2.5 * 8 * 3);
  EXPECT_DOUBLE_EQ(c.bytes, 2 * (4.0 * 8 + 8.0 * 5));
}

TEST(OpCost, RealFftOf2dFieldUsesTheHalfSpectrumOfTheLastDimension) {
  OpCost c = real_fft_cost(1, {4, 8});  // 32 points, 4 x 5 complex outputs
  EXPECT_DOUBLE_EQ(c.flops, 2.5 * 32 * 5);
  EXPECT_DOUBLE_EQ(c.bytes, 4.0 * 32 + 8.0 * 20);
}

TEST(OpCost, SpectralMixIsAComplexGemmPerMode) {
  // 3 modes, batch 2, 4 -> 5 channels: 3 complex GEMMs [2x4]x[4x5], 8 real flops per complex MAC.
  OpCost c = spectral_mix_cost(3, 2, 4, 5, 10);
  EXPECT_DOUBLE_EQ(c.flops, 3 * 2 * 4 * 5 * 8.0);
  EXPECT_GT(c.bytes, 8.0 * (3 * 2 * 4 + 3 * 4 * 5 + 3 * 2 * 5));  // at least operands and result once
}

TEST(OpCost, PointwiseLinearWithAndWithoutTheFusedAdd) {
  OpCost plain = pointwise_linear_cost(10, 3, 2, false);
  EXPECT_DOUBLE_EQ(plain.flops, 2.0 * 10 * 3 * 2 + 10 * 2);
  EXPECT_DOUBLE_EQ(plain.bytes, 4.0 * (10 * 3 + 3 * 2 + 2 + 10 * 2));
  OpCost fused = pointwise_linear_cost(10, 3, 2, true);
  EXPECT_DOUBLE_EQ(fused.flops - plain.flops, 10 * 2);
  EXPECT_DOUBLE_EQ(fused.bytes - plain.bytes, 4.0 * 10 * 2);
}

TEST(OpCost, AdamAndElementwiseAndBackward) {
  EXPECT_DOUBLE_EQ(adam_cost(100).bytes, 100 * 4.0 * 7);
  OpCost g = elementwise_cost(50, 1, 8.0);
  EXPECT_DOUBLE_EQ(g.flops, 400);
  EXPECT_DOUBLE_EQ(g.bytes, 400);
  EXPECT_DOUBLE_EQ(backward_of(g, "elementwise").bytes, 600);  // 3 arrays where the forward moved 2
  OpCost gemm{100, 10};
  EXPECT_DOUBLE_EQ(backward_of(gemm, "linear").flops, 200);  // input and weight gradients
  EXPECT_DOUBLE_EQ(backward_of(gemm, "fft").flops, 100);     // one inverse transform
}
