// run_context.h — process-level set-up shared by the commands: launch detection, MPI,
// the world communicator, device binding and the run directory.
//
// Contract: one RunContext per process, created on the main thread before any other fourmi
// object that communicates, destroyed last. In a multi-rank launch MPI is initialised and
// every rank must create it; in a single process no MPI is touched.
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
  dist::CommLog& comm_log() { return comm_log_; }
  // <run.dir>/<run.name>, created by rank 0 (all ranks wait for it).
  std::string make_run_dir(const config::Config& config);

 private:
  dist::LaunchInfo launch_;
  std::unique_ptr<dist::MpiRuntime> mpi_;
  dist::CommLog comm_log_;
  std::unique_ptr<dist::Communicator> world_;
  torch::Device device_{torch::kCPU};
};

// Picks the device for `requested` (auto | cpu | cuda) and this launch's local rank.
torch::Device select_device(const std::string& requested, const dist::LaunchInfo& launch);

}  // namespace fourmi::cli
