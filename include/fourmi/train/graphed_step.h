// graphed_step.h — a training step captured once in a CUDA graph and replayed (train.cuda_graph).
//
// A small FNO step is hundreds of kernel launches of a few microseconds each; replaying them as
// one graph removes the host from the step. GraphedStep wraps the eager step `body` (forward,
// backward, optimizer update on one rank): the first kWarmupSteps calls run it eagerly on the
// capture stream, so that cuBLAS workspaces, cuFFT plans, DFT matrices and the optimizer state
// exist before capture; the next call captures it on batch tensors of its own (the static inputs)
// and replays it; every later call copies its batch into the static inputs and replays. A batch of
// another shape (an epoch's last, smaller batch) runs the body eagerly and leaves the graph as it
// is. What the body does on the host is done once, at capture: `after_replay` is called after each
// replay for the host-side bookkeeping (the optimizer's step counts).
//
// Contract: CUDA tensors, one rank, no collectives and no host synchronisation inside `body`;
// the loss returned by run() lives in the graph's memory and is overwritten by the next replay.
// Streams: work is ordered after the caller's current stream and the caller's stream waits for it.
#pragma once

#include <torch/types.h>

#include <functional>
#include <memory>

#include "fourmi/data/loader.h"

namespace fourmi::train {

class GraphedStep {
 public:
  using Body = std::function<torch::Tensor(const data::Batch&)>;
  static constexpr int kWarmupSteps = 3;

  GraphedStep(Body body, std::function<void()> after_replay);
  ~GraphedStep();
  GraphedStep(const GraphedStep&) = delete;
  GraphedStep& operator=(const GraphedStep&) = delete;

  // One training step on `batch` (on the CUDA device); returns the body's loss.
  torch::Tensor run(const data::Batch& batch);

 private:
  struct Graph;  // the CUDA graph, its stream and static inputs (graphed_step.cpp)
  Body body_;
  std::function<void()> after_replay_;
  std::unique_ptr<Graph> graph_;
  int warm_ = 0;
};

// Whether this build can capture CUDA graphs (a CUDA build of LibTorch).
bool cuda_graphs_available();

}  // namespace fourmi::train
