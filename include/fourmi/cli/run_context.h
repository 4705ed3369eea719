// run_context.h — process-level set-up shared by the commands: launch detection, MPI,
// the world communicator, device binding and the run directory.
//
// Contract: one RunContext per process, created on the main thread before any other fourmi
// object that communicates, destroyed last. In a multi-rank launch MPI is initialised and
// every rank must create it; in a single process no MPI is touched. When run.compute_stream
// resolves to dedicated, a non-blocking CUDA stream is current on the creating thread from
// construction to destruction: everything that thread runs on the GPU (and, through autograd,
// backward) uses it.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

#include "fourmi/config/config.h"
#include "fourmi/dist/communicator.h"
#include "fourmi/dist/launch.h"
#include "fourmi/dist/mpi_communicator.h"

namespace fourmi::cli {

class RunContext {
 public:
  explicit RunContext(const config::Config& config);
  ~RunContext();
  const dist::LaunchInfo& launch() const { return launch_; }
  torch::Device device() const { return device_; }
  dist::Communicator& world() { return *world_; }
  // The process grid data x modes = world (parallel.data, parallel.modes). Rank r holds mode
  // block r % M of replica r / M: a replica's ranks are neighbours (one node, NVLink).
  int data_ranks() const { return data_ranks_; }
  int mode_ranks() const { return mode_ranks_; }
  dist::Communicator& data() { return data_ ? *data_ : *world_; }        // same mode block, different samples
  dist::Communicator* modes() { return modes_.get(); }                   // one replica; null when M = 1
  dist::CommLog& comm_log() { return comm_log_; }
  // What run.compute_stream and parallel.copy_engine_gather resolved to.
  bool dedicated_stream() const { return dedicated_stream_; }
  bool copy_engine_gather() const { return copy_engine_gather_; }
  // <run.dir>/<run.name>, created by rank 0 (all ranks wait for it).
  std::string make_run_dir(const config::Config& config);

 private:
  dist::LaunchInfo launch_;
  std::unique_ptr<dist::MpiRuntime> mpi_;
  dist::CommLog comm_log_;
  std::unique_ptr<dist::Communicator> world_;
  std::unique_ptr<dist::Communicator> data_, modes_;
  int data_ranks_ = 1, mode_ranks_ = 1;
  torch::Device device_{torch::kCPU};
  std::shared_ptr<void> compute_stream_;  // run.compute_stream=dedicated: the guard that makes it current
  bool dedicated_stream_ = false, copy_engine_gather_ = false;
};

// parallel.copy_engine_gather resolved for a launch: true/false as given; auto: on when every rank
// is on one node and the run has no mode parallelism (parallel.modes = 1).
bool use_copy_engine_gather(const config::ParallelConfig& p, const dist::LaunchInfo& launch);

// Resolves parallel.data x parallel.modes ("auto" or integers) against `world` ranks; throws
// naming the keys when they do not multiply to the world size. Returns {data, modes}.
std::pair<int, int> resolve_grid(const config::ParallelConfig& p, int world);

// Picks the device for `requested` (auto | cpu | cuda) and this launch's local rank.
torch::Device select_device(const std::string& requested, const dist::LaunchInfo& launch);

}  // namespace fourmi::cli
