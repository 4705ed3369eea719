// checkpoint.h — parameters, Adam state, epoch and RNG state by parameter name, written atomically.
//
// Layout: <dir>/ckpt-<epoch>.pt holds the replicated parameters and mode block 0 of every
// mode-partitioned parameter (with its Adam state); with M mode ranks, mode rank r > 0 writes
// <dir>/ckpt-<epoch>.modes-<r>-of-<M>.pt holding its blocks. Each block records its rows
// (start, count, total), so a checkpoint written with any M loads with any other M: a rank copies
// the rows of its own block from whichever shards hold them.
//
// Contract: save_checkpoint is called by every rank of one replica (data rank 0 of each mode
// block; the mode group's collective barrier orders the shards before the main file, whose
// rename marks the checkpoint complete). load_checkpoint may be called by any rank.
#pragma once

#include <torch/optim/optimizer.h>

#include <optional>
#include <string>

#include "fourmi/models/fno.h"

namespace fourmi::train {

struct CheckpointMeta {
  int epoch = 0;  // epochs completed
  std::string config_yaml;
};

// Writes this rank's part of the checkpoint; returns the main file's path.
std::string save_checkpoint(const std::string& dir, models::FNOImpl& model, torch::optim::Optimizer& optimizer,
                            const CheckpointMeta& meta);
// The newest complete ckpt-*.pt in `dir`, if any.
std::optional<std::string> latest_checkpoint(const std::string& dir);
// Restores this rank's parameters and Adam state (optimizer may be null, for evaluation) and the CPU RNG.
CheckpointMeta load_checkpoint(const std::string& path, models::FNOImpl& model, torch::optim::Optimizer* optimizer);

}  // namespace fourmi::train
