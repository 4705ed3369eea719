// graphed_step.cpp — capture and replay of the training step (graphed_step.h).
#include "fourmi/train/graphed_step.h"

#include <stdexcept>

#ifdef FOURMI_HAVE_CUDA_KERNELS
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace fourmi::train {

namespace {
#ifdef FOURMI_HAVE_CUDA_KERNELS
// `waiter` waits for the work queued on `stream` so far.
void wait_for(const c10::cuda::CUDAStream& waiter, const c10::cuda::CUDAStream& stream) {
  at::cuda::CUDAEvent done;
  done.record(stream);
  done.block(waiter);
}
#endif
bool same_shapes(const data::Batch& a, const data::Batch& b) {
  return a.x.sizes() == b.x.sizes() && a.y.sizes() == b.y.sizes() && a.weight.sizes() == b.weight.sizes() &&
         a.local_count == b.local_count && a.global_count == b.global_count;
}
}  // namespace

#ifdef FOURMI_HAVE_CUDA_KERNELS
struct GraphedStep::Graph {
  explicit Graph(const torch::Device& device) : stream(c10::cuda::getStreamFromPool(false, device.index())) {}
  c10::cuda::CUDAStream stream;
  at::cuda::CUDAGraph graph;
  bool captured = false;
  data::Batch inputs;  // the static batch the graph reads
  torch::Tensor loss;  // the static loss the graph writes
};

bool cuda_graphs_available() { return true; }

GraphedStep::GraphedStep(Body body, std::function<void()> after_replay)
    : body_(std::move(body)), after_replay_(std::move(after_replay)) {}
GraphedStep::~GraphedStep() = default;

torch::Tensor GraphedStep::run(const data::Batch& batch) {
  if (!batch.x.is_cuda()) throw std::invalid_argument("GraphedStep: the batch is not on a CUDA device");
  if (!graph_) graph_ = std::make_unique<Graph>(batch.x.device());
  Graph& g = *graph_;
  if (g.captured && !same_shapes(batch, g.inputs)) return body_(batch);
  const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(batch.x.device().index());
  wait_for(g.stream, caller);  // the batch and everything before it
  torch::Tensor loss;
  {
    c10::cuda::CUDAStreamGuard on_capture_stream(g.stream);
    if (warm_ < kWarmupSteps) {
      ++warm_;
      loss = body_(batch);
    } else {
      if (!g.captured) {
        g.inputs = batch;
        g.inputs.x = batch.x.clone();
        g.inputs.y = batch.y.clone();
        g.inputs.weight = batch.weight.clone();
        // thread-local: the loader's threads keep copying batches while this one captures
        g.graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
        g.loss = body_(g.inputs);
        g.graph.capture_end();
        g.captured = true;
      } else {
        g.inputs.x.copy_(batch.x, /*non_blocking=*/true);
        g.inputs.y.copy_(batch.y, /*non_blocking=*/true);
        g.inputs.weight.copy_(batch.weight, /*non_blocking=*/true);
      }
      g.graph.replay();
      if (after_replay_) after_replay_();
      loss = g.loss;
    }
  }
  wait_for(caller, g.stream);
  // Tensors made on the capture stream and used on the caller's: keep their memory until then.
  loss.record_stream(caller);
  return loss;
}
#else
struct GraphedStep::Graph {};
bool cuda_graphs_available() { return false; }
GraphedStep::GraphedStep(Body body, std::function<void()> after_replay)
    : body_(std::move(body)), after_replay_(std::move(after_replay)) {}
GraphedStep::~GraphedStep() = default;
torch::Tensor GraphedStep::run(const data::Batch&) {
  throw std::logic_error("GraphedStep: this fourmi was built without CUDA");
}
#endif

}  // namespace fourmi::train
