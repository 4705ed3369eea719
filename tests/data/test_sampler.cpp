// The sampler: disjoint cover of every sample per epoch, equal steps on every rank, determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "fourmi/data/sampler.h"

using fourmi::data::Sampler;

class SamplerCover : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(SamplerCover, DisjointAndComplete) {
  auto [n, batch, ranks] = GetParam();
  std::multiset<int64_t> seen;
  int64_t steps = -1;
  for (int r = 0; r < ranks; ++r) {
    Sampler s(n, batch, r, ranks, 42, true);
    if (steps < 0) steps = s.steps_per_epoch();
    EXPECT_EQ(s.steps_per_epoch(), steps);
    for (int64_t st = 0; st < s.steps_per_epoch(); ++st) {
      auto idx = s.indices(3, st);
      EXPECT_LE(static_cast<int64_t>(idx.size()), s.local_batch());
      seen.insert(idx.begin(), idx.end());
    }
  }
  EXPECT_EQ(static_cast<int>(seen.size()), n);
  for (int i = 0; i < n; ++i) EXPECT_EQ(seen.count(i), 1u) << "sample " << i;
}

INSTANTIATE_TEST_SUITE_P(Shapes, SamplerCover,
                         ::testing::Values(std::make_tuple(100, 20, 1), std::make_tuple(100, 20, 4),
                                           std::make_tuple(103, 20, 4), std::make_tuple(7, 8, 4),
                                           std::make_tuple(50, 7, 3)));

TEST(Sampler, GlobalCountOfLastStep) {
  Sampler s(103, 20, 0, 4, 0, true);
  EXPECT_EQ(s.steps_per_epoch(), 6);
  EXPECT_EQ(s.global_count(5), 3);
  EXPECT_EQ(s.global_count(0), 20);
}

TEST(Sampler, DeterministicPerEpochAndDifferentAcrossEpochs) {
  Sampler a(64, 64, 0, 1, 9, true), b(64, 64, 0, 1, 9, true);
  EXPECT_EQ(a.indices(1, 0), b.indices(1, 0));
  EXPECT_NE(a.indices(1, 0), a.indices(2, 0));
  Sampler plain(10, 10, 0, 1, 9, false);
  auto idx = plain.indices(5, 0);
  EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
}

TEST(Sampler, SameGlobalBatchContentWhateverTheRankCount) {
  // The union over ranks of a step's indices does not depend on the number of ranks.
  for (int64_t step = 0; step < 3; ++step) {
    Sampler one(50, 16, 0, 1, 5, true);
    auto expect = one.indices(2, step);
    std::vector<int64_t> got;
    for (int r = 0; r < 4; ++r) {
      auto part = Sampler(50, 16, r, 4, 5, true).indices(2, step);
      got.insert(got.end(), part.begin(), part.end());
    }
    EXPECT_EQ(got, expect);
  }
}
