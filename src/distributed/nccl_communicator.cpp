#ifdef FOURMI_HAVE_NCCL
#include "fourmi/distributed/nccl_communicator.h"

#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <fmt/format.h>
#include <mpi.h>
#include <nccl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <condition_variable>
#include <list>
#include <map>
#include <mutex>
#include <thread>

#include "fourmi/distributed/mpi_communicator.h"
#include "fourmi/util/host.h"

namespace fourmi::distributed {
namespace {

using util::hostname;

ncclDataType_t nccl_type(const torch::Tensor& t, const char* op) {
  switch (t.scalar_type()) {
    case torch::kFloat32:
      return ncclFloat32;
    case torch::kFloat64:
      return ncclFloat64;
    case torch::kFloat16:
      return ncclFloat16;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kInt32:
      return ncclInt32;
    case torch::kInt64:
      return ncclInt64;
    case torch::kUInt8:
      return ncclUint8;
    case torch::kBool:
      return ncclUint8;
    default:
      throw std::invalid_argument(fmt::format(
          "NCCL {}: dtype {} is not supported; accepted: float16/32/64, bfloat16, int32, int64, uint8, complex64/128",
          op, c10::toString(t.scalar_type())));
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kAvg:
      return ncclAvg;
    case ReduceOp::kMax:
      return ncclMax;
    case ReduceOp::kMin:
      return ncclMin;
    default:
      return ncclSum;
  }
}

// Complex tensors travel as their real view: sums and averages are element-wise.
torch::Tensor wire_view(const torch::Tensor& t, ReduceOp op, const char* what) {
  if (!t.is_complex()) return t;
  if (op == ReduceOp::kMax || op == ReduceOp::kMin)
    throw std::invalid_argument(
        fmt::format("NCCL {}: max/min are not defined for complex tensors; accepted: sum, avg", what));
  return torch::view_as_real(t);
}

// A failed CUDA runtime call is sticky for the process: the job ends, naming the call.
void cuda_check(cudaError_t rc, const char* call) {
  if (rc == cudaSuccess) return;
  abort_all_ranks(
      fmt::format("CUDA {} failed on {}: {} ({})", call, hostname(), cudaGetErrorString(rc), cudaGetErrorName(rc)));
}

// A CUDA event shared by the Work that waits on it and the watchdog that polls it.
struct Event {
  cudaEvent_t handle = nullptr;
  explicit Event(bool timing = false) {
    cuda_check(cudaEventCreateWithFlags(&handle, timing ? cudaEventDefault : cudaEventDisableTiming),
               "cudaEventCreateWithFlags");
  }
  ~Event() { cudaEventDestroy(handle); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};

struct Pending {
  std::shared_ptr<Event> done;
  std::string op;
  std::chrono::steady_clock::time_point start;
};

// The zero-CTA communicator of copy-engine all-gathers and the windows registered on it, shared
// by the communicator and the deleters of the gather buffers' tensors: a buffer freed while the
// communicator lives leaves its window first; once the communicator is gone (destroying it
// released its windows) only the memory is freed.
struct GatherWindows {
  std::mutex mu;
  ncclComm_t comm = nullptr;
  std::map<uintptr_t, size_t> ranges;  // registered buffers: start → bytes

  bool contains(const void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mu);
    const auto a = reinterpret_cast<uintptr_t>(p);
    auto it = ranges.upper_bound(a);
    if (it == ranges.begin()) return false;
    --it;
    return a + bytes <= it->first + it->second;
  }
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, int device, std::string group, const NcclOptions& options)
      : comm_(comm),
        device_(device),
        options_(options),
        stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device)) {
    group_ = std::move(group);
    check(ncclCommUserRank(comm_, &rank_), "comm_user_rank");
    check(ncclCommCount(comm_, &size_), "comm_count");
    watchdog_ = std::thread([this] { watch(); });
  }
  ~NcclCommunicator() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    watchdog_.join();
    pending_.clear();
    const bool unwinding = std::uncaught_exceptions() > 0;  // peers may be stuck: do not wait for them
    if (gather_) {
      std::lock_guard<std::mutex> lock(gather_->mu);
      if (gather_->comm) unwinding ? ncclCommAbort(gather_->comm) : ncclCommDestroy(gather_->comm);
      gather_->comm = nullptr;
      gather_->ranges.clear();
    }
    if (comm_) unwinding ? ncclCommAbort(comm_) : ncclCommDestroy(comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

  void check(ncclResult_t rc, const char* op) {
    if (rc == ncclSuccess || rc == ncclInProgress) return;
    abort_job(fmt::format("NCCL {} on group '{}' failed on rank {} ({}), NCCL {}.{}.{}: {} ({})", op, group_, rank_,
                          hostname(), NCCL_MAJOR, NCCL_MINOR, NCCL_PATCH, ncclGetErrorString(rc),
                          ncclGetLastError(comm_)));
  }

  class NcclWork : public Work {
   public:
    NcclWork(std::shared_ptr<Event> done, int device, std::function<void()> on_done)
        : done_(std::move(done)), device_(device), on_done_(std::move(on_done)) {}
    void wait() override {
      if (waited_) return;
      waited_ = true;
      // The caller's stream waits on the device; the host does not block.
      cuda_check(cudaStreamWaitEvent(c10::cuda::getCurrentCUDAStream(device_).stream(), done_->handle, 0),
                 "cudaStreamWaitEvent");
      if (on_done_) on_done_();
    }

   private:
    std::shared_ptr<Event> done_;
    int device_;
    std::function<void()> on_done_;
    bool waited_ = false;
  };

  // Orders the comm stream after the caller's stream, runs `enqueue`, records completion.
  template <class F>
  std::unique_ptr<Work> launch(const char* op, std::initializer_list<torch::Tensor> tensors, int64_t bytes, F enqueue,
                               std::function<void()> after = {}) {
    for (const auto& t : tensors) {
      if (!t.is_cuda() || t.get_device() != device_)
        throw std::invalid_argument(
            fmt::format("NCCL {}: tensor on {} but this rank's communicator is on cuda:{}; the NCCL backend takes CUDA "
                        "tensors of its device",
                        op, t.device().str(), device_));
      if (!t.is_contiguous()) throw std::invalid_argument(fmt::format("NCCL {}: tensor must be contiguous", op));
    }
    c10::cuda::CUDAGuard guard(device_);
    auto caller = c10::cuda::getCurrentCUDAStream(device_);
    // When the profiler times collectives, the two events every launch records anyway carry
    // timestamps: the collective starts at the later of `ready` (its input is complete on the
    // caller's stream) and the end of the previous timed collective on this stream, and ends at `done`.
    const bool timed = log_ && log_->device_timing();
    auto ready = std::make_shared<Event>(timed);
    auto done = std::make_shared<Event>(timed);
    cuda_check(cudaEventRecord(ready->handle, caller.stream()), "cudaEventRecord");
    cuda_check(cudaStreamWaitEvent(stream_.stream(), ready->handle, 0), "cudaStreamWaitEvent");
    double start = log_ ? log_->now() : 0.0;
    enqueue(stream_.stream());
    cuda_check(cudaEventRecord(done->handle, stream_.stream()), "cudaEventRecord");
    std::shared_ptr<void> ev_start, ev_end, ev_after;
    if (timed) {
      ev_start = std::shared_ptr<void>(ready, static_cast<void*>(ready->handle));
      ev_end = std::shared_ptr<void>(done, static_cast<void*>(done->handle));
    }
    for (const auto& t : tensors) c10::cuda::CUDACachingAllocator::recordStream(t.storage().data_ptr(), stream_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.push_back({done, op, std::chrono::steady_clock::now()});
      if (timed) ev_after = last_timed_end_;
      last_timed_end_ = ev_end;  // an untimed launch in between resets it
    }
    cv_.notify_all();
    if (log_) {
      // Host-side enqueue time; the profile area replaces it with CUDA-event times when profiling.
      log_->add({op, group_, dtype_name(*tensors.begin()), bytes, size_, start, log_->now() - start, ev_start, ev_end,
                 ev_after});
    }
    return std::make_unique<NcclWork>(done, device_, std::move(after));
  }

  std::unique_ptr<Work> all_reduce_async(torch::Tensor& t, ReduceOp op) override {
    torch::Tensor w = wire_view(t, op, "all_reduce");
    return launch("all_reduce", {w}, w.numel() * w.element_size(), [&](cudaStream_t s) {
      check(ncclAllReduce(w.data_ptr(), w.data_ptr(), w.numel(), nccl_type(w, "all_reduce"), nccl_op(op), comm_, s),
            "all_reduce");
    });
  }
  void broadcast(torch::Tensor& t, int root) override {
    torch::Tensor w = wire_view(t, ReduceOp::kSum, "broadcast");
    launch("broadcast", {w}, w.numel() * w.element_size(), [&](cudaStream_t s) {
      check(ncclBroadcast(w.data_ptr(), w.data_ptr(), w.numel(), nccl_type(w, "broadcast"), root, comm_, s),
            "broadcast");
    })->wait();
  }
  torch::Tensor all_gather(const torch::Tensor& in) override {
    torch::Tensor t = wire_view(in.contiguous(), ReduceOp::kSum, "all_gather");
    auto shape = in.sizes().vec();
    if (shape.empty()) shape.push_back(1);
    shape[0] *= size_;
    torch::Tensor out = torch::empty(shape, in.options());
    torch::Tensor ow = wire_view(out, ReduceOp::kSum, "all_gather");
    launch("all_gather", {t, ow}, ow.numel() * ow.element_size(), [&](cudaStream_t s) {
      check(ncclAllGather(t.data_ptr(), ow.data_ptr(), t.numel(), nccl_type(t, "all_gather"), comm_, s), "all_gather");
    })->wait();
    return out;
  }
  torch::Tensor reduce_scatter(const torch::Tensor& in, ReduceOp op) override {
    if (in.dim() == 0 || in.size(0) % size_ != 0)
      throw std::invalid_argument(fmt::format("reduce_scatter: dim 0 must be divisible by the group size {}", size_));
    torch::Tensor t = wire_view(in.contiguous(), op, "reduce_scatter");
    auto shape = in.sizes().vec();
    shape[0] /= size_;
    torch::Tensor out = torch::empty(shape, in.options());
    torch::Tensor ow = wire_view(out, op, "reduce_scatter");
    launch("reduce_scatter", {t, ow}, t.numel() * t.element_size(), [&](cudaStream_t s) {
      check(ncclReduceScatter(t.data_ptr(), ow.data_ptr(), ow.numel(), nccl_type(t, "reduce_scatter"), nccl_op(op),
                              comm_, s),
            "reduce_scatter");
    })->wait();
    return out;
  }
  // The element count of each rank's block of `t` (its real view for complex tensors).
  int64_t block_of(const torch::Tensor& w, const char* op) const {
    if (w.numel() % size_ != 0)
      throw std::invalid_argument(
          fmt::format("NCCL {}: in place over {} elements; accepted: a number divisible by the group size {}", op,
                      w.numel(), size_));
    return w.numel() / size_;
  }
  bool gathers_on_copy_engines() const override { return options_.copy_engine_gather; }
  bool on_copy_engines(const torch::Tensor& t) const override {
    return gather_ && t.is_cuda() && gather_->contains(t.data_ptr(), static_cast<size_t>(t.numel() * t.element_size()));
  }
  std::unique_ptr<Work> reduce_scatter_in_place_async(torch::Tensor& t, ReduceOp op) override {
    torch::Tensor w = wire_view(t, op, "reduce_scatter");
    const int64_t n = block_of(w, "reduce_scatter");
    if (options_.copy_engine_reduce_scatter && (op == ReduceOp::kSum || op == ReduceOp::kAvg) && on_copy_engines(w))
      return reduce_scatter_on_copy_engines(w, n, op);
    return launch("reduce_scatter", {w}, w.numel() * w.element_size(), [&](cudaStream_t s) {
      // recvbuff = sendbuff + rank * recvcount: NCCL's in-place form.
      char* base = static_cast<char*>(w.data_ptr());
      check(ncclReduceScatter(base, base + rank_ * n * w.element_size(), n, nccl_type(w, "reduce_scatter"), nccl_op(op),
                              comm_, s),
            "reduce_scatter");
    });
  }
  std::unique_ptr<Work> all_gather_in_place_async(torch::Tensor& t) override {
    torch::Tensor w = wire_view(t, ReduceOp::kSum, "all_gather");
    const int64_t n = block_of(w, "all_gather");
    const int64_t bytes = w.numel() * w.element_size();
    // Over a gather buffer: the zero-CTA communicator, whose all-gathers in its symmetric window
    // run on the copy engines.
    const bool copy_engines = on_copy_engines(w);
    ncclComm_t comm = copy_engines ? gather_->comm : comm_;
    return launch(copy_engines ? "all_gather_ce" : "all_gather", {w}, bytes, [&](cudaStream_t s) {
      // sendbuff = recvbuff + rank * sendcount: NCCL's in-place form.
      char* base = static_cast<char*>(w.data_ptr());
      check(ncclAllGather(base + rank_ * n * w.element_size(), base, n, nccl_type(w, "all_gather"), comm, s),
            "all_gather");
    });
  }
  // Block j of `w` goes to rank j (an all-to-all on the copy engines, into this rank's scratch
  // window), then this rank's block of `w` becomes the sum of the blocks received, on the
  // communication stream. The next all-to-all into the scratch window starts only when every rank
  // has reached it on its stream, after its sum.
  std::unique_ptr<Work> reduce_scatter_on_copy_engines(torch::Tensor& w, int64_t n, ReduceOp op) {
    const int64_t bytes = w.numel() * w.element_size();
    if (!scratch_.defined() || scratch_.numel() * scratch_.element_size() < bytes ||
        scratch_.scalar_type() != w.scalar_type()) {
      if (scratch_.defined()) retired_scratch_.push_back(scratch_);  // queued collectives may still write it
      scratch_ = gather_buffer(w.numel(), w.options());  // collective: every rank reaches this call at the same point
    }
    return launch("reduce_scatter_ce", {w}, bytes, [&](cudaStream_t s) {
      check(ncclAlltoAll(w.data_ptr(), scratch_.data_ptr(), n, nccl_type(w, "reduce_scatter"), gather_->comm, s),
            "alltoall (reduce-scatter)");
      c10::cuda::CUDAStreamGuard on_comm_stream(stream_);
      torch::Tensor own = w.narrow(0, rank_ * n, n);
      at::sum_out(own, scratch_.narrow(0, 0, w.numel()).view({size_, n}), {0});
      if (op == ReduceOp::kAvg) own.div_(size_);
    });
  }
  int64_t external_buffer_bytes() const override {
    if (!gather_) return 0;
    std::lock_guard<std::mutex> lock(gather_->mu);
    int64_t bytes = 0;
    for (const auto& [start, size] : gather_->ranges) bytes += static_cast<int64_t>(size);
    return bytes;
  }
  torch::Tensor gather_buffer(int64_t numel, const torch::TensorOptions& options) override {
    if (!options_.copy_engine_gather) return Communicator::gather_buffer(numel, options.device(torch::kCUDA, device_));
    c10::cuda::CUDAGuard guard(device_);
    if (!gather_) {
      auto windows = std::make_shared<GatherWindows>();
      ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
      config.CTAPolicy = NCCL_CTA_POLICY_ZERO;
      check(ncclCommSplit(comm_, 0, rank_, &windows->comm, &config), "comm_split (copy-engine gathers)");
      std::lock_guard<std::mutex> lock(mu_);  // the watchdog reads gather_
      gather_ = std::move(windows);
    }
    const size_t elem = c10::elementSize(c10::typeMetaToScalarType(options.dtype()));
    const size_t bytes = (static_cast<size_t>(numel) * elem + NCCL_WIN_REQUIRED_ALIGNMENT - 1) /
                         NCCL_WIN_REQUIRED_ALIGNMENT * NCCL_WIN_REQUIRED_ALIGNMENT;
    void* ptr = nullptr;
    check(ncclMemAlloc(&ptr, bytes), "mem_alloc (gather buffer)");
    if (cudaMemset(ptr, 0, bytes) != cudaSuccess)
      abort_job(fmt::format("cudaMemset of a {}-byte gather buffer failed on rank {} ({})", bytes, rank_, hostname()));
    ncclWindow_t window = nullptr;
    check(ncclCommWindowRegister(gather_->comm, ptr, bytes, &window, NCCL_WIN_COLL_SYMMETRIC),
          "comm_window_register (gather buffer)");
    {
      std::lock_guard<std::mutex> lock(gather_->mu);
      gather_->ranges[reinterpret_cast<uintptr_t>(ptr)] = bytes;
    }
    std::shared_ptr<GatherWindows> windows = gather_;
    auto release = [windows, window, device = device_](void* p) {
      c10::cuda::CUDAGuard g(device);
      {
        std::lock_guard<std::mutex> lock(windows->mu);
        if (windows->comm) {
          ncclCommWindowDeregister(windows->comm, window);
          windows->ranges.erase(reinterpret_cast<uintptr_t>(p));
        }
      }
      ncclMemFree(p);
    };
    return torch::from_blob(ptr, {numel}, release, options.device(torch::kCUDA, device_));
  }
  void barrier() override {
    torch::Tensor t = torch::zeros({1}, torch::TensorOptions().device(torch::kCUDA, device_));
    all_reduce(t, ReduceOp::kSum);
    c10::cuda::getCurrentCUDAStream(device_).synchronize();
  }
  std::unique_ptr<Communicator> split(int color, int key, const std::string& group) override {
    ncclComm_t sub = nullptr;
    check(ncclCommSplit(comm_, color, key, &sub, nullptr), "comm_split");
    NcclOptions sub_options = options_;
    sub_options.copy_engine_gather = sub_options.copy_engine_reduce_scatter =
        false;  // gather buffers come from the data-parallel group only
    auto c = std::make_unique<NcclCommunicator>(sub, device_, group, sub_options);
    c->set_log(log_);
    return c;
  }
  [[noreturn]] void abort_impl(const std::string& message, int code) override {
    if (gather_ && gather_->comm) ncclCommAbort(gather_->comm);
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
    abort_all_ranks(message, code);
  }

 private:
  // Retires finished collectives; aborts on an overdue one or an asynchronous NCCL error.
  void watch() {
    cuda_check(cudaSetDevice(device_), "cudaSetDevice (watchdog)");
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      auto now = std::chrono::steady_clock::now();
      for (auto it = pending_.begin(); it != pending_.end();) {
        cudaError_t q = cudaEventQuery(it->done->handle);
        if (q == cudaSuccess) {
          it = pending_.erase(it);
          continue;
        }
        if (q != cudaErrorNotReady) {
          lock.unlock();
          cuda_check(q, "cudaEventQuery (watchdog)");
        }
        double waited = std::chrono::duration<double>(now - it->start).count();
        if (waited > options_.timeout_s) {
          std::string op = it->op;
          lock.unlock();
          abort_job(fmt::format("NCCL {} on group '{}' did not complete within {:.0f} s (parallel.timeout_s) on rank "
                                "{} ({}): another rank of the {} "
                                "did not arrive (it failed, hangs, or called collectives in another order)",
                                op, group_, options_.timeout_s, rank_, hostname(), size_),
                    1);
        }
        ++it;
      }
      ncclResult_t async = ncclSuccess;
      if (comm_ && ncclCommGetAsyncError(comm_, &async) == ncclSuccess && async != ncclSuccess &&
          async != ncclInProgress) {
        lock.unlock();
        check(async, "asynchronous error");
      }
      ncclComm_t gather = gather_ ? gather_->comm : nullptr;  // set under mu_; destroyed only after this thread ends
      if (gather && ncclCommGetAsyncError(gather, &async) == ncclSuccess && async != ncclSuccess &&
          async != ncclInProgress) {
        lock.unlock();
        check(async, "asynchronous error (copy-engine gathers)");
      }
    }
  }

  ncclComm_t comm_;
  int device_;
  NcclOptions options_;
  std::shared_ptr<GatherWindows> gather_;       // created by the first gather_buffer() with copy_engine_gather
  torch::Tensor scratch_;                       // copy-engine reduce-scatters receive here (a gather buffer)
  std::vector<torch::Tensor> retired_scratch_;  // smaller scratch buffers, kept until the end
  c10::cuda::CUDAStream stream_;
  int rank_ = 0, size_ = 1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::list<Pending> pending_;
  std::shared_ptr<void> last_timed_end_;  // end event of the last collective launched while device timing was on
  bool stopping_ = false;
  std::thread watchdog_;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_world_communicator(int device_index, const NcclOptions& options) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  ncclUniqueId id;
  if (rank == 0) {
    ncclResult_t rc = ncclGetUniqueId(&id);
    if (rc != ncclSuccess) abort_all_ranks(fmt::format("ncclGetUniqueId failed: {}", ncclGetErrorString(rc)));
  }
  if (MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)  // MPI only bootstraps
    abort_all_ranks(fmt::format("MPI_Bcast of the NCCL unique id failed on rank {} ({})", rank, hostname()));
  c10::cuda::CUDAGuard guard(device_index);
  ncclComm_t comm = nullptr;
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  ncclResult_t rc = ncclCommInitRankConfig(&comm, size, id, rank, &config);
  if (rc != ncclSuccess)
    abort_all_ranks(fmt::format("ncclCommInitRankConfig failed on rank {} ({}) device cuda:{}: {}", rank, hostname(),
                                device_index, ncclGetErrorString(rc)));
  return std::make_unique<NcclCommunicator>(comm, device_index, "world", options);
}

}  // namespace fourmi::distributed
#endif  // FOURMI_HAVE_NCCL
