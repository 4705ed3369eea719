#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>

#include "fourmi/distributed/communicator.h"

namespace fourmi::distributed {

std::string dtype_name(const torch::Tensor& t) { return std::string(c10::toString(t.scalar_type())); }

torch::Tensor Communicator::gather_buffer(int64_t numel, const torch::TensorOptions& options) {
  return torch::zeros({numel}, options);
}

namespace {

class DoneWork : public Work {
 public:
  void wait() override {}
};

class LocalCommunicator : public Communicator {
 public:
  explicit LocalCommunicator(std::string group) { group_ = std::move(group); }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  std::unique_ptr<Work> all_reduce_async(torch::Tensor&, ReduceOp) override { return std::make_unique<DoneWork>(); }
  void broadcast(torch::Tensor&, int) override {}
  torch::Tensor all_gather(const torch::Tensor& t) override { return t.clone(); }
  torch::Tensor reduce_scatter(const torch::Tensor& t, ReduceOp) override { return t.clone(); }
  std::unique_ptr<Work> reduce_scatter_in_place_async(torch::Tensor&, ReduceOp) override {
    return std::make_unique<DoneWork>();
  }
  std::unique_ptr<Work> all_gather_in_place_async(torch::Tensor&) override { return std::make_unique<DoneWork>(); }
  void barrier() override {}
  std::unique_ptr<Communicator> split(int, int, const std::string& group) override {
    return std::make_unique<LocalCommunicator>(group);
  }
  [[noreturn]] void abort_impl(const std::string& message, int code) override {
    std::fprintf(stderr, "fourmi: error: %s\n", message.c_str());
    std::exit(code);
  }
};

}  // namespace

std::unique_ptr<Communicator> make_local_communicator(const std::string& group) {
  return std::make_unique<LocalCommunicator>(group);
}

}  // namespace fourmi::distributed
