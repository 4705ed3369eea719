// How a launch resolves parallel.copy_engine_gather (and the data x modes grid it depends on).
#include <gtest/gtest.h>

#include "fourmi/cli/run_context.h"

using fourmi::cli::resolve_grid;
using fourmi::cli::use_copy_engine_gather;

namespace {
fourmi::dist::LaunchInfo launch(int world, int local) {
  fourmi::dist::LaunchInfo l;
  l.launcher = world > 1 ? "mpirun" : "single";
  l.world_size = world;
  l.local_size = local;
  return l;
}
fourmi::config::ParallelConfig parallel(const std::string& gather, const std::string& modes = "1") {
  fourmi::config::ParallelConfig p;
  p.copy_engine_gather = gather;
  p.modes = modes;
  return p;
}
}  // namespace

TEST(RunContext, CopyEngineGatherAutoNeedsOneNodeSeveralRanksAndNoModeParallelism) {
  EXPECT_TRUE(use_copy_engine_gather(parallel("auto"), launch(4, 4)));
  EXPECT_FALSE(use_copy_engine_gather(parallel("auto"), launch(1, 1)));   // one rank: nothing to gather
  EXPECT_FALSE(use_copy_engine_gather(parallel("auto"), launch(8, 4)));   // two nodes
  EXPECT_FALSE(use_copy_engine_gather(parallel("auto", "2"), launch(4, 4)));
  EXPECT_TRUE(use_copy_engine_gather(parallel("true"), launch(8, 4)));    // as asked
  EXPECT_FALSE(use_copy_engine_gather(parallel("false"), launch(4, 4)));
}

TEST(RunContext, CopyEngineGatherTrueWithModeParallelismIsAnErrorNamingTheKeys) {
  try {
    use_copy_engine_gather(parallel("true", "2"), launch(4, 4));
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("parallel.copy_engine_gather"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("parallel.modes"), std::string::npos);
  }
}

TEST(RunContext, GridResolvesDataTimesModes) {
  EXPECT_EQ(resolve_grid(parallel("auto", "2"), 4), std::make_pair(2, 2));
  EXPECT_EQ(resolve_grid(parallel("auto", "1"), 4), std::make_pair(4, 1));
}
