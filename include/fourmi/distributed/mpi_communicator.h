// mpi_communicator.h — the MPI backend (CPU tensors) and the MPI runtime's lifetime.
//
// Contract: MpiRuntime is created once per process, before any MpiCommunicator, on the main
// thread, and outlives them. MpiCommunicator owns a duplicated MPI communicator (MPI_Comm_dup
// or _split), so fourmi's traffic never mixes with a user's. Non-blocking collectives are
// polled with MPI_Test; one that does not complete within `timeout_s` aborts the job.
#pragma once

#include <memory>
#include <string>

#include "fourmi/distributed/communicator.h"

namespace fourmi::distributed {

class MpiRuntime {
 public:
  MpiRuntime();   // MPI_Init_thread unless already initialised
  ~MpiRuntime();  // MPI_Finalize if we initialised it
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;
  static bool active();

 private:
  bool owns_ = false;
};

// World communicator over MPI_COMM_WORLD (duplicated).
std::unique_ptr<Communicator> make_mpi_world_communicator(double timeout_s);

// Ends every rank after printing `message` with this rank and host. Safe with or without MPI.
[[noreturn]] void abort_all_ranks(const std::string& message, int code = 1);

}  // namespace fourmi::distributed
