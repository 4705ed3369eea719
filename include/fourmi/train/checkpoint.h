// checkpoint.h — parameters, Adam state, position and RNG state by parameter name, written atomically.
//
// Format: safetensors (util/safetensors.h) with a CRC-32 per tensor; tensors "param/<name>",
// "exp_avg/<name>", "exp_avg_sq/<name>", "step/<name>", "block/<name>" (start, count, total of a
// mode block) and "rng_state"; metadata "format" (fourmi-checkpoint), "version", "epoch",
// "epoch_step", "epoch_loss_sum", "mode_ranks" and "config_yaml" (docs/checkpoints.md).
//
// Layout: <dir>/ckpt-<epoch>.safetensors (or ckpt-<epoch>.step-<step>.safetensors, written when a
// stop signal arrives inside an epoch: <step> steps of epoch <epoch> + 1 are done) holds the
// replicated parameters and mode block 0 of every mode-partitioned parameter (with its Adam
// state); with M mode ranks, mode rank r > 0 writes <stem>.modes-<r>-of-<M>.safetensors holding
// its blocks. Each block records its rows, so a checkpoint written with any M loads with any
// other M: a rank copies the rows of its own block from whichever shards hold them.
//
// Contract: save_checkpoint is called by every rank of one replica (data rank 0 of each mode
// block; the mode group's collective barrier orders the shards before the main file, whose
// rename marks the checkpoint complete). load_checkpoint may be called by any rank.
#pragma once

#include <torch/optim/optimizer.h>

#include <optional>
#include <string>
#include <utility>

#include "fourmi/config/config.h"
#include "fourmi/data/normalizer.h"
#include "fourmi/models/fno.h"

namespace fourmi::train {

struct CheckpointMeta {
  int epoch = 0;              // epochs completed
  std::string config_yaml;    // the run's resolved config (config::to_yaml)
  int step = 0;               // steps completed of the next epoch (0 at an epoch boundary)
  double epoch_loss_sum = 0;  // with step > 0: the loss summed over those steps and over all ranks
};

// The main file's name at a position: ckpt-<epoch>.safetensors or ckpt-<epoch>.step-<step>.safetensors.
std::string checkpoint_file_name(int epoch, int step);

// Writes this rank's part of the checkpoint; returns the main file's path.
std::string save_checkpoint(const std::string& dir, models::FNOImpl& model, torch::optim::Optimizer& optimizer,
                            const CheckpointMeta& meta);
// The newest complete checkpoint in `dir` (largest (epoch, step)), if any.
std::optional<std::string> latest_checkpoint(const std::string& dir);
// (epoch, step) from a main file's name; nullopt for any other name.
std::optional<std::pair<int, int>> checkpoint_position(const std::string& path);
// Restores this rank's parameters and Adam state (optimizer may be null, for evaluation) and the CPU
// RNG. The checkpoint must hold exactly the model's parameters: one missing, extra or of another
// shape is refused, naming it.
CheckpointMeta load_checkpoint(const std::string& path, models::FNOImpl& model, torch::optim::Optimizer* optimizer);
// The stored position and config only (to build the model a checkpoint was written for).
CheckpointMeta read_checkpoint_meta(const std::string& path);
// The whole model for use outside fourmi (`fourmi export`, python/fourmi_torch): safetensors with
// "param/<name>" (every parameter whole: `model` must hold all modes, one mode rank), the
// normalisation as applied ("normalizer/{x,y}_{mean,std}", absent with data.normalize: none), and
// metadata format "fourmi-model", "architecture" (JSON of config.model and data.normalize),
// "config_yaml", "source_checkpoint", "epoch". docs/checkpoints.md gives the forward conventions.
void export_model(const std::string& path, models::FNOImpl& model, const config::Config& config,
                  const data::Normalizer& x, const data::Normalizer& y, const std::string& source_checkpoint,
                  int epoch);
// The architecture JSON that export_model stores (the keys of config.model that define the forward).
std::string architecture_json(const config::Config& config);

// CRC-32 of the parameters (names, shapes and bytes, in name order) as 8 hex digits: equal digests
// mean bitwise-equal models. Meaningful for a whole model (one mode rank).
std::string parameter_digest(models::FNOImpl& model);

}  // namespace fourmi::train
