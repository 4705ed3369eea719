// fno.h — the Fourier Neural Operator (Li et al., ICLR 2021) for 1, 2 and 3 spatial dimensions.
//
//   x ─► [grid embedding] ─► lift (pointwise) ─► [pad] ─► L × (SpectralConv + pointwise skip, GELU)
//     ─► [crop] ─► project (pointwise, GELU, pointwise) ─► y
// Input and output are channels-first: [B, C, n_1, ..., n_d]. The grid may differ
// from the training grid (discretisation invariance) as long as it holds the modes.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <map>
#include <string>

#include "fourmi/config/config.h"
#include "fourmi/models/pointwise.h"
#include "fourmi/models/spectral_conv.h"

namespace fourmi::models {

class FNOImpl : public torch::nn::Module {
 public:
  // `group`: the ranks this replica's spectral modes are split over (none: one rank).
  explicit FNOImpl(const config::ModelConfig& config, ModeGroup group = {});
  torch::Tensor forward(const torch::Tensor& x);

  const config::ModelConfig& config() const { return config_; }
  int64_t parameter_count() const;  // held by this rank
  const ModeGroup& mode_group() const { return group_; }
  // Parameters split by mode blocks (name → this rank's block of dim 0); the others are replicated.
  std::map<std::string, ModeBlock> mode_partitioned() const;
  // forward() runs in stages (0: lift; 1 + l: layer l's spectral weights and skip, entered after
  // that layer's forward transform; layers + 1: projection) and calls `hook` with
  // a stage's index before the stage reads its parameters, stage_parameters()[s]; a sharded
  // optimizer uses it to wait for each stage's parameters just in time. Every parameter is in one stage.
  void set_stage_hook(std::function<void(int)> hook);
  std::vector<std::vector<torch::Tensor>> stage_parameters() const;
  // Where backward writes each spectral weight's gradient: `into(weight)` returns a destination
  // (mode_mix.h) or an undefined tensor. A data-parallel reducer points it at its bucket.
  void set_weight_grad_into(std::function<torch::Tensor(const torch::Tensor& weight)> into);
  // Runs every op through `recorder` (step profiler, debug.check_finite); null: plain ops.
  void set_recorder(profile::OpRecorder* recorder);
  // The spectral layers' mode mixing on CUDA tensors: cuBLAS (the default) or fourmi's kernel.
  void set_mix_impl(MixImpl impl);

 private:
  torch::Tensor add_grid(const torch::Tensor& x) const;
  void enter_stage(int stage) const {
    if (stage_hook_) stage_hook_(stage);
  }

  config::ModelConfig config_;
  ModeGroup group_;
  PointwiseLinear lift_{nullptr};
  std::vector<SpectralConv> spectral_;
  std::vector<PointwiseLinear> skip_;
  PointwiseLinear project_hidden_{nullptr};
  PointwiseLinear project_out_{nullptr};
  std::function<void(int)> stage_hook_;
  profile::OpRecorder* recorder_ = nullptr;
};
TORCH_MODULE(FNO);

// y for input x under model.rollout_steps: one forward when it is 0; else rollout_steps forwards,
// each on the latest in_channels snapshots (x's, then the model's own outputs), the outputs
// concatenated along channels: [B, rollout_steps * out_channels, n_1, .., n_d].
torch::Tensor forward_rollout(FNOImpl& model, const torch::Tensor& x);

}  // namespace fourmi::models
