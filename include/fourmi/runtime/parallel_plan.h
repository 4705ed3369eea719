// parallel_plan.h — every `auto` of a run resolved for one launch, and every contradiction refused.
//
// resolve_plan() is the one place that turns the run/parallel/debug keys and the launch (ranks,
// nodes, visible GPUs, what this build supports) into decisions: the device, the backend, the
// data x modes grid, the compute stream, where the collectives run and which buckets are sharded.
// It refuses, before any work starts, every combination that cannot be honoured, with a message
// naming the keys and saying what is accepted; nothing is downgraded silently. The start-up table
// prints each decision with the reason for it (ParallelPlan::decisions).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fourmi/config/config.h"
#include "fourmi/distributed/grad_reducer.h"
#include "fourmi/distributed/launch.h"

namespace fourmi::runtime {

// What the process can see and what this build of fourmi supports.
struct Capabilities {
  int visible_gpus = 0;
  bool nccl = false;  // built with NCCL
};

enum class BackendKind { kLocal, kMpi, kNccl };  // kLocal: one process, no MPI

struct ParallelPlan {
  bool cuda = false;
  int device_index = 0;  // with cuda: local_rank % visible_gpus
  BackendKind backend = BackendKind::kLocal;
  int data_ranks = 1, mode_ranks = 1;
  bool dedicated_stream = false;  // a non-blocking compute stream of the rank's own
  bool copy_engine_gather = false;
  bool copy_engine_reduce_scatter = false;
  bool shard_optimizer = false;  // ZeRO-1 over the data group (more than one data rank)
  int64_t shard_min_bytes = 0;
  int64_t bucket_bytes = 25 << 20;
  bool bf16_compress = false;
  bool grad_into_bucket = true;
  double timeout_s = 300;
  bool tf32 = true;
  bool deterministic = false;
  bool sync_launches = false;
  bool cuda_graph = false;  // the training step captured and replayed (train.cuda_graph)
  // (key, "resolved value (why)") for the start-up table, one row per decision.
  std::vector<std::pair<std::string, std::string>> decisions;
};

// Throws std::invalid_argument naming the keys for a contradictory or inapplicable setting.
ParallelPlan resolve_plan(const config::Config& config, const distributed::LaunchInfo& launch,
                          const Capabilities& caps);

// The capabilities of this process (torch's visible GPUs; whether NCCL was compiled in).
Capabilities detect_capabilities();

const char* backend_name(BackendKind b);

// The gradient synchronisation the plan asks for (the Trainer's `sync`).
distributed::ReducerOptions reducer_options(const ParallelPlan& plan);

// A fixed-width table of the plan's rows.
std::string format_plan(const ParallelPlan& plan);

}  // namespace fourmi::runtime
