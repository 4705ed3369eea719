// run_context.h — the process-level runtime of a fourmi command: launch detection, MPI start-up,
// the parallel plan, device binding, torch-wide settings, the process grid and its communicators.
//
// Contract: one RunContext per process, created on the main thread before any other fourmi
// object that communicates, destroyed last. In a multi-rank launch MPI is initialised and every
// rank must create it (the communicators are created collectively); in a single process no MPI is
// touched. The constructor resolves the ParallelPlan first, so a contradictory setting is refused
// on every rank before any collective. When the plan asks for a dedicated compute stream, a
// non-blocking CUDA stream is current on the creating thread from construction to destruction:
// everything that thread runs on the GPU (and, through autograd, backward) uses it.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

#include "fourmi/config/config.h"
#include "fourmi/distributed/communicator.h"
#include "fourmi/distributed/launch.h"
#include "fourmi/distributed/mpi_communicator.h"
#include "fourmi/runtime/parallel_plan.h"

namespace fourmi::runtime {

// Torch-wide and CUDA-environment settings of a plan (TF32, deterministic algorithms, synchronous
// launches), applied once per process before the first CUDA call. RunContext calls it.
void apply_process_settings(const ParallelPlan& plan);

class RunContext {
 public:
  explicit RunContext(const config::Config& config);
  ~RunContext();
  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;
  const distributed::LaunchInfo& launch() const { return launch_; }
  const ParallelPlan& plan() const { return plan_; }
  torch::Device device() const { return device_; }
  distributed::Communicator& world() { return *world_; }
  // The process grid data x modes = world (parallel.data, parallel.modes). Rank r holds mode
  // block r % M of replica r / M: a replica's ranks are neighbours (one node, NVLink).
  int data_ranks() const { return plan_.data_ranks; }
  int mode_ranks() const { return plan_.mode_ranks; }
  distributed::Communicator& data() { return data_ ? *data_ : *world_; }  // same mode block, different samples
  distributed::Communicator* modes() { return modes_.get(); }             // one replica; null when M = 1
  distributed::CommLog& comm_log() { return comm_log_; }
  // <run.dir>/<run.name>, created by rank 0 (all ranks wait for it).
  std::string make_run_dir(const config::Config& config);

 private:
  distributed::LaunchInfo launch_;
  std::unique_ptr<distributed::MpiRuntime> mpi_;
  ParallelPlan plan_;
  distributed::CommLog comm_log_;
  std::unique_ptr<distributed::Communicator> world_;
  std::unique_ptr<distributed::Communicator> data_, modes_;
  torch::Device device_{torch::kCPU};
  std::shared_ptr<void> compute_stream_;  // the guard that makes the dedicated stream current
};

}  // namespace fourmi::runtime
