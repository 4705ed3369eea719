// mode_parallel.h — splitting a spectral layer's retained modes across the ranks of a model replica.
//
// The flat mode index 0..T-1 of SpectralConv is cut into M contiguous, balanced blocks (sizes
// differ by at most one); rank r of the mode group owns block r: its weights, gradients and
// optimizer state. Two autograd functions carry the communication, each the adjoint of the other:
//   take_own_modes   forward: this rank's rows of a replicated [T, ...] tensor (no communication);
//                    backward: all-gather of the block gradients into the full [T, ...] gradient.
//   gather_all_modes forward: all-gather of the blocks into the replicated [T, ...] tensor;
//                    backward: this rank's rows of the (replicated) gradient.
// Both move batch x channels x retained modes, never the spatial grid.
//
// Contract: every rank of the mode group calls them in the same order with the same shapes (the
// replica's input is identical on all of its ranks); the communicator outlives the model.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "fourmi/distributed/communicator.h"

namespace fourmi::models {

struct ModeBlock {
  int64_t start = 0, count = 0, total = 0, padded = 0;  // padded = the largest block, the all-gather's unit
};

// Block `rank` of `total` modes split over `ranks`.
ModeBlock mode_block(int64_t total, int rank, int ranks);

// The mode group a model replica is spread over; comm == nullptr means one rank (no split).
struct ModeGroup {
  distributed::Communicator* comm = nullptr;
  int rank() const { return comm ? comm->rank() : 0; }
  int size() const { return comm ? comm->size() : 1; }
};

torch::Tensor take_own_modes(const torch::Tensor& all, const ModeGroup& group, const ModeBlock& block);
torch::Tensor gather_all_modes(const torch::Tensor& own, const ModeGroup& group, const ModeBlock& block);

}  // namespace fourmi::models
