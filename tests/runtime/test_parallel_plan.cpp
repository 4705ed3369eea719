// The ParallelPlan: how each `auto` resolves for a launch, and the table of contradictory or
// inapplicable settings that resolve_plan refuses, each naming its keys.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fourmi/config/config_loader.h"
#include "fourmi/runtime/parallel_plan.h"

namespace {

using fourmi::config::Config;
using fourmi::distributed::LaunchInfo;
using fourmi::runtime::BackendKind;
using fourmi::runtime::Capabilities;
using fourmi::runtime::ParallelPlan;
using fourmi::runtime::resolve_plan;

LaunchInfo launch(int world, int local) {
  LaunchInfo l;
  l.launcher = world > 1 ? "mpirun" : "single";
  l.world_size = world;
  l.local_size = local;
  return l;
}
Config config_with(const std::vector<std::string>& sets) { return fourmi::config::load_config_text("", "test", sets); }
const Capabilities kGpus{/*visible_gpus=*/8, /*nccl=*/true};
const Capabilities kCpuOnly{/*visible_gpus=*/0, /*nccl=*/false};

ParallelPlan plan(const std::vector<std::string>& sets, int world, int local, Capabilities caps = kGpus) {
  return resolve_plan(config_with(sets), launch(world, local), caps);
}

}  // namespace

TEST(ParallelPlan, OneProcessOnTheCpu) {
  ParallelPlan p = plan({}, 1, 1, kCpuOnly);
  EXPECT_FALSE(p.cuda);
  EXPECT_EQ(p.backend, BackendKind::kLocal);
  EXPECT_EQ(p.data_ranks, 1);
  EXPECT_EQ(p.mode_ranks, 1);
  EXPECT_FALSE(p.shard_optimizer);  // nothing to shard
  EXPECT_FALSE(p.dedicated_stream);
  EXPECT_FALSE(p.decisions.empty());
}

TEST(ParallelPlan, AutoOnOneNodeOfGpus) {
  ParallelPlan p = plan({}, 4, 4);
  EXPECT_TRUE(p.cuda);
  EXPECT_EQ(p.backend, BackendKind::kNccl);
  EXPECT_TRUE(p.shard_optimizer);
  EXPECT_TRUE(p.copy_engine_gather);
  EXPECT_TRUE(p.copy_engine_reduce_scatter);
  EXPECT_TRUE(p.dedicated_stream);
  EXPECT_EQ(p.shard_min_bytes, 1 << 20);  // auto: 1 MB on the copy engines
}

TEST(ParallelPlan, AutoKeepsCollectivesOnNcclKernelsAcrossNodesOrWithModeParallelism) {
  ParallelPlan two_nodes = plan({}, 8, 4);
  EXPECT_FALSE(two_nodes.copy_engine_gather);
  EXPECT_FALSE(two_nodes.dedicated_stream);
  EXPECT_EQ(two_nodes.shard_min_bytes, 0);
  ParallelPlan modes = plan({"parallel.modes=2"}, 4, 4);
  EXPECT_EQ(modes.data_ranks, 2);
  EXPECT_EQ(modes.mode_ranks, 2);
  EXPECT_FALSE(modes.copy_engine_gather);
  ParallelPlan unsharded = plan({"parallel.shard_optimizer=false"}, 4, 4);
  EXPECT_FALSE(unsharded.copy_engine_gather);
}

TEST(ParallelPlan, ExplicitSettingsAreHonoured) {
  ParallelPlan p = plan({"parallel.copy_engine_gather=true", "parallel.copy_engine_reduce_scatter=false",
                         "run.compute_stream=legacy", "parallel.shard_min_mb=0.5"},
                        8, 4);
  EXPECT_TRUE(p.copy_engine_gather);  // as asked, across nodes too
  EXPECT_FALSE(p.copy_engine_reduce_scatter);
  EXPECT_FALSE(p.dedicated_stream);
  EXPECT_EQ(p.shard_min_bytes, 1 << 19);
  ParallelPlan mpi = plan({"parallel.backend=mpi", "run.device=cpu"}, 2, 2);
  EXPECT_EQ(mpi.backend, BackendKind::kMpi);
  EXPECT_FALSE(mpi.cuda);
}

TEST(ParallelPlan, GridResolvesEitherSide) {
  EXPECT_EQ(plan({"parallel.modes=auto", "parallel.data=2"}, 8, 8).mode_ranks, 4);
  EXPECT_EQ(plan({"parallel.data=auto", "parallel.modes=4"}, 8, 8).data_ranks, 2);
  EXPECT_EQ(plan({"parallel.data=auto", "parallel.modes=auto"}, 8, 8).mode_ranks, 1);
}

// Every contradictory or inapplicable combination is refused before any work, naming its keys.
TEST(ParallelPlan, ContradictionsAreRefusedNamingTheKeys) {
  struct Case {
    std::vector<std::string> sets;
    int world, local;
    Capabilities caps;
    std::vector<std::string> named;  // every one of these appears in the message
  };
  const std::vector<Case> cases = {
      {{"parallel.data=3", "parallel.modes=auto"}, 4, 4, kGpus, {"parallel.data", "divisor"}},
      {{"parallel.data=3"}, 4, 4, kGpus, {"parallel.data x parallel.modes", "4 ranks"}},
      {{"parallel.modes=3"}, 4, 4, kGpus, {"parallel.modes", "divisor"}},
      {{"parallel.data=2", "parallel.modes=4"}, 4, 4, kGpus, {"parallel.data x parallel.modes", "4 ranks"}},
      {{"run.device=cuda"}, 1, 1, kCpuOnly, {"run.device", "cpu or auto"}},
      {{}, 4, 4, Capabilities{2, true}, {"only 2 visible GPUs", "run.device=cpu"}},
      {{"parallel.backend=nccl", "run.device=cpu"}, 2, 2, kGpus, {"parallel.backend=nccl", "CPU", "mpi or auto"}},
      {{"parallel.backend=nccl"}, 2, 2, kCpuOnly, {"parallel.backend=nccl", "mpi or auto"}},
      {{}, 2, 2, Capabilities{2, false}, {"NCCL", "run.device=cpu"}},
      {{"parallel.backend=mpi", "parallel.copy_engine_gather=true"},
       2,
       2,
       kGpus,
       {"parallel.copy_engine_gather=true", "NCCL", "mpi"}},
      {{"run.device=cpu", "parallel.copy_engine_reduce_scatter=true"},
       2,
       2,
       kGpus,
       {"parallel.copy_engine_reduce_scatter=true", "NCCL"}},
      {{"run.device=cpu", "parallel.bf16_compress=true"}, 2, 2, kGpus, {"parallel.bf16_compress", "NCCL"}},
      {{"parallel.copy_engine_gather=true", "parallel.modes=2"},
       4,
       4,
       kGpus,
       {"parallel.copy_engine_gather=true", "parallel.modes"}},
      {{"parallel.copy_engine_gather=true", "parallel.shard_optimizer=false"},
       4,
       4,
       kGpus,
       {"parallel.copy_engine_gather=true", "parallel.shard_optimizer"}},
      {{"parallel.copy_engine_reduce_scatter=true", "parallel.copy_engine_gather=false"},
       4,
       4,
       kGpus,
       {"parallel.copy_engine_reduce_scatter=true", "parallel.copy_engine_gather"}},
      {{"parallel.copy_engine_reduce_scatter=true"},
       8,
       4,
       kGpus,  // two nodes: auto gathers resolve off
       {"parallel.copy_engine_reduce_scatter=true", "parallel.copy_engine_gather"}},
      {{"run.compute_stream=dedicated", "run.device=cpu"},
       1,
       1,
       kGpus,
       {"run.compute_stream=dedicated", "auto or legacy"}},
      {{"train.cuda_graph=true"}, 1, 1, kCpuOnly, {"train.cuda_graph=true", "CPU"}},
      {{"train.cuda_graph=true"}, 2, 2, kGpus, {"train.cuda_graph=true", "2 ranks"}},
      {{"train.cuda_graph=true", "debug.check_finite=true"}, 1, 1, kGpus, {"train.cuda_graph=true", "check_finite"}},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& s : c.sets) joined += s + " ";
    try {
      resolve_plan(config_with(c.sets), launch(c.world, c.local), c.caps);
      ADD_FAILURE() << "accepted: " << joined << "at " << c.world << " ranks";
    } catch (const std::invalid_argument& e) {
      for (const auto& key : c.named)
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos)
            << joined << ": '" << e.what() << "' lacks '" << key << "'";
    }
  }
}

TEST(ParallelPlan, CudaGraphAutoIsOnForOneGpuRankOnly) {
  EXPECT_TRUE(plan({}, 1, 1).cuda_graph);
  EXPECT_FALSE(plan({}, 1, 1, kCpuOnly).cuda_graph);
  EXPECT_FALSE(plan({}, 2, 2).cuda_graph);
  EXPECT_FALSE(plan({"debug.check_finite=true"}, 1, 1).cuda_graph);
  EXPECT_FALSE(plan({"train.cuda_graph=false"}, 1, 1).cuda_graph);
}

TEST(ParallelPlan, SettingsThatDoNotApplyToOneRankAreReportedNotRefused) {
  ParallelPlan p = plan({"parallel.copy_engine_gather=true", "parallel.bf16_compress=true"}, 1, 1, kCpuOnly);
  EXPECT_FALSE(p.copy_engine_gather);
  bool reported = false;
  for (const auto& [key, value] : p.decisions)
    reported = reported || (key == "parallel.copy_engine_gather" && value.find("off") == 0);
  EXPECT_TRUE(reported);
}
