// The communication log's bus bandwidth: nccl-tests' factors, for the copy-engine variants too.
#include <gtest/gtest.h>

#include "fourmi/distributed/comm_log.h"

using fourmi::distributed::CommRecord;

namespace {
CommRecord record(const std::string& op, int ranks) {
  CommRecord r;
  r.op = op;
  r.ranks = ranks;
  r.bytes = 1 << 20;
  r.duration_s = 1e-3;
  return r;
}
}  // namespace

TEST(CommLog, BusBandwidthFactorsPerCollective) {
  const double algbw = (1 << 20) / 1e-3;
  EXPECT_DOUBLE_EQ(record("all_reduce", 4).busbw(), algbw * 2 * 3 / 4);
  EXPECT_DOUBLE_EQ(record("all_gather", 4).busbw(), algbw * 3 / 4);
  EXPECT_DOUBLE_EQ(record("reduce_scatter", 4).busbw(), algbw * 3 / 4);
  EXPECT_DOUBLE_EQ(record("all_gather_ce", 4).busbw(), algbw * 3 / 4);
  EXPECT_DOUBLE_EQ(record("reduce_scatter_ce", 4).busbw(), algbw * 3 / 4);
  EXPECT_DOUBLE_EQ(record("broadcast", 4).busbw(), algbw);
  EXPECT_DOUBLE_EQ(record("all_reduce", 1).busbw(), algbw);
}
