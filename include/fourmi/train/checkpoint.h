// checkpoint.h — model, optimizer, epoch and RNG state, written atomically (temp + rename).
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <optional>
#include <string>

namespace fourmi::train {

struct CheckpointMeta {
  int epoch = 0;          // epochs completed
  std::string config_yaml;
};

// Writes <dir>/ckpt-<epoch>.pt; returns its path.
std::string save_checkpoint(const std::string& dir, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                            const CheckpointMeta& meta);
// The newest ckpt-*.pt in `dir`, if any.
std::optional<std::string> latest_checkpoint(const std::string& dir);
// Restores model and optimizer (optimizer may be null, for evaluation) and the CPU RNG.
CheckpointMeta load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer);

}  // namespace fourmi::train
