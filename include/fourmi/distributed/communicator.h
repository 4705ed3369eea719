// communicator.h — the one abstraction over a process group's collectives.
//
// Contract (as in c10d): every collective must be called in the same order, with the same
// shapes and dtypes, on every rank of the group. Tensors are contiguous; results are in
// place unless a new tensor is returned. Backends: LocalCommunicator (one rank, no MPI),
// MpiCommunicator (CPU tensors), NcclCommunicator (CUDA tensors; work runs on the
// communicator's own stream, ordered after the caller's current stream with an event, and
// wait() orders the caller's stream after it). Every call checks its result; a failure or
// a collective that exceeds the timeout ends the whole job with a message naming the
// operation, group, rank and host. Calls are recorded in the CommLog, when one is set.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

#include "fourmi/distributed/comm_log.h"

namespace fourmi::distributed {

enum class ReduceOp { kSum, kAvg, kMax, kMin };

// An in-flight collective. wait() blocks (CPU) or orders the current stream (CUDA).
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
  const std::string& group() const { return group_; }
  void set_log(CommLog* log) { log_ = log; }
  CommLog* log() const { return log_; }

  virtual std::unique_ptr<Work> all_reduce_async(torch::Tensor& t, ReduceOp op) = 0;
  void all_reduce(torch::Tensor& t, ReduceOp op = ReduceOp::kSum) { all_reduce_async(t, op)->wait(); }
  virtual void broadcast(torch::Tensor& t, int root) = 0;
  // Concatenates every rank's `t` along dim 0, in rank order.
  virtual torch::Tensor all_gather(const torch::Tensor& t) = 0;
  // Reduces `t` over ranks and returns this rank's block of dim 0 (size(0) divisible by size()).
  virtual torch::Tensor reduce_scatter(const torch::Tensor& t, ReduceOp op) = 0;
  // In place over all of `t` (numel divisible by size()): reduces over ranks; this rank's block,
  // t.view(-1).narrow(0, rank() * n, n) with n = numel / size(), receives the result; the other
  // blocks are left unspecified. Asynchronous like all_reduce_async.
  virtual std::unique_ptr<Work> reduce_scatter_in_place_async(torch::Tensor& t, ReduceOp op) = 0;
  // In place over all of `t` (numel divisible by size()): block r of every rank's `t` receives
  // rank r's block. Asynchronous like all_reduce_async.
  virtual std::unique_ptr<Work> all_gather_in_place_async(torch::Tensor& t) = 0;
  // A zeroed 1-D buffer of `numel` elements for in-place all-gathers over it or over slices of it
  // (at the same offsets on every rank). Collective: every rank asks for the same size, in the
  // same order. NCCL with copy-engine gathers on: NCCL memory in a symmetric window, so those
  // all-gathers run on the GPUs' copy engines and take no SMs from overlapped compute. Otherwise,
  // and on other backends: an ordinary tensor.
  virtual torch::Tensor gather_buffer(int64_t numel, const torch::TensorOptions& options);
  // Bytes of the live gather buffers that are not the tensor allocator's (NCCL's memory), for
  // memory reports: the caching allocator's statistics do not count them.
  virtual int64_t external_buffer_bytes() const { return 0; }
  // Whether collectives over `t` (a gather buffer, or a slice of one) run on the copy engines;
  // then in-place reduce-scatters over it too, as an all-to-all on the copy engines and a local
  // sum of the received blocks, so a caller should reduce in such buffers rather than elsewhere.
  virtual bool on_copy_engines(const torch::Tensor&) const { return false; }
  // Whether gather_buffer() hands out such buffers.
  virtual bool gathers_on_copy_engines() const { return false; }
  virtual void barrier() = 0;
  // Ranks with equal `color` form a new group, ordered by `key`. Collective over this group.
  virtual std::unique_ptr<Communicator> split(int color, int key, const std::string& group) = 0;
  // Ends every rank of the job (MPI_Abort / ncclCommAbort). Never returns.
  [[noreturn]] void abort_job(const std::string& message, int code = 1) { abort_impl(message, code); }

 protected:
  [[noreturn]] virtual void abort_impl(const std::string& message, int code) = 0;
  std::string group_ = "world";
  CommLog* log_ = nullptr;
};

// A group of one: collectives are identities. The single-process debug mode.
std::unique_ptr<Communicator> make_local_communicator(const std::string& group = "world");

std::string dtype_name(const torch::Tensor& t);

}  // namespace fourmi::distributed
