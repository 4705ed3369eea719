// nccl_communicator.h — the NCCL backend (CUDA tensors). Compiled when NCCL is found.
//
// Contract: created collectively by every rank (rank 0 makes the unique id, MPI_Bcast sends
// it), after MpiRuntime and after the CUDA device is set. The communicator is RAII (destroy
// on destruction, abort on failure) and owns one high-priority communication stream. Each
// collective waits (on the device) for the caller's current stream with an event, runs on the
// communication stream, and its Work::wait() makes the caller's current stream wait for it:
// the host never blocks on the GPU. The tensors' memory is recorded on the communication stream
// so the caching allocator does not reuse it early (gather buffers are NCCL's memory, freed with
// the last tensor that views them). A watchdog thread aborts the communicator
// and the job when a collective exceeds the timeout or NCCL reports an asynchronous error.
#pragma once

#include <memory>
#include <string>

#include "fourmi/distributed/communicator.h"

namespace fourmi::distributed {

// Collectives run on a high-priority CUDA stream, so their blocks are scheduled ahead of queued
// compute blocks.
struct NcclOptions {
  double timeout_s = 300.0;  // collective watchdog
  // gather_buffer() returns NCCL memory (ncclMemAlloc) registered as a symmetric window of a
  // second, zero-CTA communicator split from this one; in-place all-gathers over it run there,
  // on the copy engines (NCCL 2.28+, one node, NVLink), on the same stream as every other
  // collective. Where NCCL cannot use the copy engines it runs its kernels instead.
  bool copy_engine_gather = false;
  // With copy_engine_gather: in-place reduce-scatters over a gather buffer become an all-to-all on
  // the copy engines into a scratch window and a sum of the received blocks (a short kernel), in
  // place of NCCL's reduce-scatter kernel that holds SMs for the whole transfer. Sum and average only.
  bool copy_engine_reduce_scatter = false;
};
std::unique_ptr<Communicator> make_nccl_world_communicator(int device_index, const NcclOptions& options);

}  // namespace fourmi::distributed
