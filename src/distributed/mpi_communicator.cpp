#include "fourmi/distributed/mpi_communicator.h"
#include "fourmi/util/host.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <mpi.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <complex>
#include <functional>
#include <limits>
#include <cstdio>
#include <thread>

namespace fourmi::distributed {
namespace {

// MPI counts are ints: a larger count is refused, naming the collective (fourmi's buckets are far smaller).
int mpi_count(int64_t n, const char* op) {
  if (n > std::numeric_limits<int>::max())
    throw std::invalid_argument(
        fmt::format("MPI {}: {} elements exceed MPI's int count ({}); accepted: smaller tensors "
                    "(lower parallel.bucket_mb)",
                    op, n, std::numeric_limits<int>::max()));
  return static_cast<int>(n);
}

using util::hostname;

MPI_Datatype mpi_type(const torch::Tensor& t, const char* op) {
  switch (t.scalar_type()) {
    case torch::kFloat32:
      return MPI_FLOAT;
    case torch::kFloat64:
      return MPI_DOUBLE;
    case torch::kComplexFloat:
      return MPI_C_FLOAT_COMPLEX;  // not the Fortran MPI_COMPLEX
    case torch::kComplexDouble:
      return MPI_C_DOUBLE_COMPLEX;
    case torch::kInt32:
      return MPI_INT32_T;
    case torch::kInt64:
      return MPI_INT64_T;
    case torch::kUInt8:
      return MPI_UINT8_T;
    case torch::kBool:
      return MPI_C_BOOL;
    default:
      throw std::invalid_argument(
          fmt::format("MPI {}: dtype {} is not supported; accepted: float32, float64, complex64, complex128, int32, "
                      "int64, uint8, bool",
                      op, c10::toString(t.scalar_type())));
  }
}

MPI_Op mpi_op(ReduceOp op, const torch::Tensor& t) {
  if (t.is_complex() && (op == ReduceOp::kMax || op == ReduceOp::kMin))
    throw std::invalid_argument("MPI all_reduce: max/min are not defined for complex tensors; accepted: sum, avg");
  switch (op) {
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kMin:
      return MPI_MIN;
    default:
      return MPI_SUM;
  }
}

class MpiCommunicator;

class MpiWork : public Work {
 public:
  // `finish` runs once the request is complete (averaging, moving a block into place).
  MpiWork(MpiCommunicator* comm, MPI_Request req, std::string op, torch::Tensor keep, int64_t bytes, double start,
          std::function<void()> finish = {})
      : comm_(comm),
        req_(req),
        op_(std::move(op)),
        tensor_(std::move(keep)),
        bytes_(bytes),
        start_(start),
        finish_(std::move(finish)) {}
  void wait() override;

 private:
  MpiCommunicator* comm_;
  MPI_Request req_;
  std::string op_;
  torch::Tensor tensor_;
  int64_t bytes_;
  double start_;
  std::function<void()> finish_;
  bool done_ = false;
};

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, std::string group, double timeout_s) : comm_(comm), timeout_s_(timeout_s) {
    group_ = std::move(group);
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiCommunicator() override {
    // While an exception unwinds, other ranks may sit in a collective: freeing (collective) would
    // hang, so leave the communicator to MPI_Abort, which the top level calls next.
    if (comm_ != MPI_COMM_NULL && MpiRuntime::active() && std::uncaught_exceptions() == 0) MPI_Comm_free(&comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void check(int rc, const char* op) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    abort_job(fmt::format("MPI {} on group '{}' failed on rank {} ({}): {}", op, group_, rank_, hostname(),
                          std::string(msg, len)));
  }

  void require_cpu(const torch::Tensor& t, const char* op) {
    if (!t.device().is_cpu())
      throw std::invalid_argument(
          fmt::format("MPI {}: tensor is on {}; the MPI backend takes CPU tensors (use the NCCL backend for CUDA)", op,
                      t.device().str()));
    if (!t.is_contiguous()) throw std::invalid_argument(fmt::format("MPI {}: tensor must be contiguous", op));
  }

  // Point-to-point tags of the roll call (they never match collectives on the same communicator).
  static constexpr int kRollCallTag = 0x5f11, kRollReplyTag = 0x5f12;

  // A rank waiting in a collective answers roll calls with the sequence number it waits on.
  void answer_roll_calls() {
    int flag = 0;
    MPI_Status st;
    while (MPI_Iprobe(MPI_ANY_SOURCE, kRollCallTag, comm_, &flag, &st) == MPI_SUCCESS && flag) {
      int64_t theirs = 0;
      MPI_Recv(&theirs, 1, MPI_INT64_T, st.MPI_SOURCE, kRollCallTag, comm_, MPI_STATUS_IGNORE);
      int64_t mine = seq_;
      MPI_Send(&mine, 1, MPI_INT64_T, st.MPI_SOURCE, kRollReplyTag, comm_);
    }
  }

  // After a timeout: asks every other rank which collective it waits in, for `window_s`. Ranks that
  // answer with this rank's sequence number arrived; the others (busy elsewhere, hung, dead, or in
  // another collective) did not. Returns a phrase naming them.
  std::string roll_call(double window_s) {
    std::vector<MPI_Request> sent;
    int64_t mine = seq_;
    for (int r = 0; r < size_; ++r) {
      if (r == rank_) continue;
      sent.emplace_back();
      MPI_Isend(&mine, 1, MPI_INT64_T, r, kRollCallTag, comm_, &sent.back());
    }
    std::vector<int64_t> answer(size_, -1);
    answer[rank_] = mine;
    auto t0 = std::chrono::steady_clock::now();
    int answered = 1;
    while (answered < size_ &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < window_s) {
      answer_roll_calls();
      int flag = 0;
      MPI_Status st;
      if (MPI_Iprobe(MPI_ANY_SOURCE, kRollReplyTag, comm_, &flag, &st) == MPI_SUCCESS && flag) {
        MPI_Recv(&answer[st.MPI_SOURCE], 1, MPI_INT64_T, st.MPI_SOURCE, kRollReplyTag, comm_, MPI_STATUS_IGNORE);
        ++answered;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    for (auto& q : sent) MPI_Request_free(&q);
    std::vector<int> missing, elsewhere, waiting;
    for (int r = 0; r < size_; ++r) {
      if (answer[r] < 0)
        missing.push_back(r);
      else if (answer[r] != mine)
        elsewhere.push_back(r);
      else
        waiting.push_back(r);
    }
    std::string out;
    if (!missing.empty())
      out += fmt::format("rank(s) {} of group '{}' did not arrive (busy elsewhere, hung or dead)",
                         fmt::join(missing, ", "), group_);
    if (!elsewhere.empty())
      out += fmt::format("{}rank(s) {} wait in another collective (called in a different order)",
                         out.empty() ? "" : "; ", fmt::join(elsewhere, ", "));
    if (out.empty()) out = "every rank answered from this collective (the transport itself is stuck)";
    return out + fmt::format("; waiting in it: rank(s) {}", fmt::join(waiting, ", "));
  }

  // Polls a request until done or the timeout; a timeout ends the job naming the absent ranks.
  void wait_request(MPI_Request& req, const std::string& op) {
    auto t0 = std::chrono::steady_clock::now();
    int done = 0;
    int spins = 0;
    while (true) {
      check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), op.c_str());
      if (done) return;
      double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (waited > timeout_s_)
        abort_job(
            fmt::format("collective {} on group '{}' (seq {}) did not complete within {:.0f} s (parallel.timeout_s) on "
                        "rank {} ({}): {}",
                        op, group_, seq_, timeout_s_, rank_, hostname(), roll_call(std::min(5.0, timeout_s_))));
      if (++spins > 1000) {
        answer_roll_calls();
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
  }

  void record(const std::string& op, const torch::Tensor& t, int64_t bytes, double start) {
    if (log_) log_->add({op, group_, dtype_name(t), bytes, size_, start, log_->now() - start, {}, {}});
  }
  double now() const { return log_ ? log_->now() : 0.0; }

  std::unique_ptr<Work> all_reduce_async(torch::Tensor& t, ReduceOp op) override {
    require_cpu(t, "all_reduce");
    ++seq_;
    double start = now();
    MPI_Request req;
    check(MPI_Iallreduce(MPI_IN_PLACE, t.data_ptr(), mpi_count(t.numel(), "all_reduce"), mpi_type(t, "all_reduce"),
                         mpi_op(op, t), comm_, &req),
          "all_reduce");
    std::function<void()> finish;
    if (op == ReduceOp::kAvg) finish = [t, n = size_]() mutable { t.div_(n); };
    return std::make_unique<MpiWork>(this, req, "all_reduce", t, t.numel() * t.element_size(), start,
                                     std::move(finish));
  }

  int64_t block_of(const torch::Tensor& t, const char* op) const {
    if (!t.is_contiguous() || t.numel() % size_ != 0 || t.numel() / size_ > std::numeric_limits<int>::max())
      throw std::invalid_argument(
          fmt::format("MPI {}: the tensor ({} elements) must be contiguous, with a number of elements divisible by the "
                      "group size {} and at most {} per rank",
                      op, t.numel(), size_, std::numeric_limits<int>::max()));
    return t.numel() / size_;
  }

  std::unique_ptr<Work> reduce_scatter_in_place_async(torch::Tensor& t, ReduceOp op) override {
    require_cpu(t, "reduce_scatter");
    const int64_t n = block_of(t, "reduce_scatter");
    ++seq_;
    double start = now();
    MPI_Request req;
    // MPI's in-place form leaves this rank's block at the start of the buffer; `finish` moves it to
    // the block's own place, as NCCL's in-place reduce-scatter leaves it.
    check(MPI_Ireduce_scatter_block(MPI_IN_PLACE, t.data_ptr(), mpi_count(n, "reduce_scatter"),
                                    mpi_type(t, "reduce_scatter"), mpi_op(op, t), comm_, &req),
          "reduce_scatter");
    torch::Tensor flat = t.view(-1);
    auto finish = [flat, n, r = rank_, size = size_, op]() mutable {
      torch::Tensor mine = flat.narrow(0, r * n, n);
      if (r > 0) {
        mine.copy_(flat.narrow(0, 0, n));
        flat.narrow(0, 0, n)
            .zero_();  // not block 0's sum: leave zeros (a bucket's padding stays zero), not a stale copy
      }
      if (op == ReduceOp::kAvg) mine.div_(size);
    };
    return std::make_unique<MpiWork>(this, req, "reduce_scatter", t, t.numel() * t.element_size(), start,
                                     std::move(finish));
  }

  std::unique_ptr<Work> all_gather_in_place_async(torch::Tensor& t) override {
    require_cpu(t, "all_gather");
    const int64_t n = block_of(t, "all_gather");
    ++seq_;
    double start = now();
    MPI_Request req;
    check(MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, t.data_ptr(), mpi_count(n, "all_gather"),
                         mpi_type(t, "all_gather"), comm_, &req),
          "all_gather");
    return std::make_unique<MpiWork>(this, req, "all_gather", t, t.numel() * t.element_size(), start);
  }

  void broadcast(torch::Tensor& t, int root) override {
    require_cpu(t, "broadcast");
    ++seq_;
    double start = now();
    MPI_Request req;
    check(MPI_Ibcast(t.data_ptr(), mpi_count(t.numel(), "broadcast"), mpi_type(t, "broadcast"), root, comm_, &req),
          "broadcast");
    wait_request(req, "broadcast");
    record("broadcast", t, t.numel() * t.element_size(), start);
  }

  torch::Tensor all_gather(const torch::Tensor& in) override {
    torch::Tensor t = in.contiguous();
    require_cpu(t, "all_gather");
    ++seq_;
    double start = now();
    auto shape = t.sizes().vec();
    if (shape.empty()) shape.push_back(1);
    shape[0] *= size_;
    torch::Tensor out = torch::empty(shape, t.options());
    MPI_Request req;
    check(MPI_Iallgather(t.data_ptr(), mpi_count(t.numel(), "all_gather"), mpi_type(t, "all_gather"), out.data_ptr(),
                         mpi_count(t.numel(), "all_gather"), mpi_type(t, "all_gather"), comm_, &req),
          "all_gather");
    wait_request(req, "all_gather");
    record("all_gather", t, out.numel() * out.element_size(), start);
    return out;
  }

  torch::Tensor reduce_scatter(const torch::Tensor& in, ReduceOp op) override {
    torch::Tensor t = in.contiguous();
    require_cpu(t, "reduce_scatter");
    if (t.dim() == 0 || t.size(0) % size_ != 0)
      throw std::invalid_argument(fmt::format("reduce_scatter: dim 0 ({}) must be divisible by the group size {}",
                                              t.dim() ? t.size(0) : 0, size_));
    ++seq_;
    double start = now();
    auto shape = t.sizes().vec();
    shape[0] /= size_;
    torch::Tensor out = torch::empty(shape, t.options());
    MPI_Request req;
    check(MPI_Ireduce_scatter_block(t.data_ptr(), out.data_ptr(), mpi_count(out.numel(), "reduce_scatter"),
                                    mpi_type(t, "reduce_scatter"), mpi_op(op, t), comm_, &req),
          "reduce_scatter");
    wait_request(req, "reduce_scatter");
    if (op == ReduceOp::kAvg) out.div_(size_);
    record("reduce_scatter", t, t.numel() * t.element_size(), start);
    return out;
  }

  void barrier() override {
    ++seq_;
    double start = now();
    MPI_Request req;
    check(MPI_Ibarrier(comm_, &req), "barrier");
    wait_request(req, "barrier");
    if (log_) log_->add({"barrier", group_, "none", 0, size_, start, log_->now() - start, {}, {}});
  }

  std::unique_ptr<Communicator> split(int color, int key, const std::string& group) override {
    MPI_Comm sub;
    check(MPI_Comm_split(comm_, color, key, &sub), "comm_split");
    auto c = std::make_unique<MpiCommunicator>(sub, group, timeout_s_);
    c->set_log(log_);
    return c;
  }

  [[noreturn]] void abort_impl(const std::string& message, int code) override { abort_all_ranks(message, code); }

 private:
  friend class MpiWork;
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  double timeout_s_;
  int64_t seq_ = 0;
};

void MpiWork::wait() {
  if (done_) return;
  comm_->wait_request(req_, op_);
  done_ = true;
  if (finish_) finish_();
  comm_->record(op_, tensor_, bytes_, start_);
}

}  // namespace

MpiRuntime::MpiRuntime() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
      abort_all_ranks("MPI_Init_thread failed");
    owns_ = true;
    // The NCCL watchdog aborts the job (MPI_Abort) from its own thread: that needs MPI_THREAD_MULTIPLE.
    if (provided < MPI_THREAD_MULTIPLE)
      abort_all_ranks(
          fmt::format("this MPI provides thread level {} but fourmi needs MPI_THREAD_MULTIPLE ({}); use an MPI "
                      "built with thread support (Open MPI's default)",
                      provided, static_cast<int>(MPI_THREAD_MULTIPLE)));
  }
}

MpiRuntime::~MpiRuntime() {
  // MPI_Finalize is collective: during exception unwinding the top level aborts the job instead.
  if (owns_ && std::uncaught_exceptions() == 0) {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised) MPI_Finalize();
  }
}

bool MpiRuntime::active() {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  return initialised && !finalised;
}

std::unique_ptr<Communicator> make_mpi_world_communicator(double timeout_s) {
  MPI_Comm dup;
  if (MPI_Comm_dup(MPI_COMM_WORLD, &dup) != MPI_SUCCESS) abort_all_ranks("MPI_Comm_dup of MPI_COMM_WORLD failed");
  return std::make_unique<MpiCommunicator>(dup, "world", timeout_s);
}

[[noreturn]] void abort_all_ranks(const std::string& message, int code) {
  int rank = 0;
  bool mpi = MpiRuntime::active();
  if (mpi) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fflush(stdout);
  std::fprintf(stderr, "fourmi: error on rank %d (%s): %s\n", rank, hostname().c_str(), message.c_str());
  std::fflush(stderr);
  if (mpi) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace fourmi::distributed
