#include "fourmi/models/fno.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "fourmi/profile/op_recorder.h"

namespace fourmi::models {

FNOImpl::FNOImpl(const config::ModelConfig& config, ModeGroup group) : config_(config), group_(group) {
  const int d = config_.dim;
  if (static_cast<int>(config_.modes.size()) != d)
    throw std::invalid_argument(fmt::format("FNO: model.modes has {} entries for dim {}", config_.modes.size(), d));
  if (config_.rollout_steps > 0 && config_.out_channels > config_.in_channels)
    throw std::invalid_argument(
        fmt::format("FNO: model.rollout_steps feeds each output back as input: model.out_channels ({}) must not exceed "
                    "model.in_channels ({})",
                    config_.out_channels, config_.in_channels));
  const int lifted_in = config_.in_channels + (config_.grid_embedding ? d : 0);
  lift_ = register_module("lift", PointwiseLinear(lifted_in, config_.width));
  for (int l = 0; l < config_.layers; ++l) {
    spectral_.push_back(register_module(fmt::format("spectral{}", l),
                                        SpectralConv(SpectralConvOptions{config_.width, config_.width, config_.modes,
                                                                         group_, config_.spectral_transform})));
    skip_.push_back(register_module(fmt::format("skip{}", l), PointwiseLinear(config_.width, config_.width)));
  }
  project_hidden_ = register_module("project_hidden", PointwiseLinear(config_.width, config_.projection_width));
  project_out_ = register_module("project_out", PointwiseLinear(config_.projection_width, config_.out_channels));
}

torch::Tensor FNOImpl::add_grid(const torch::Tensor& x) const {
  const int d = config_.dim;
  std::vector<torch::Tensor> coords;
  for (int k = 0; k < d; ++k) {
    int64_t n = x.size(2 + k);
    std::vector<int64_t> view(2 + d, 1);
    view[2 + k] = n;
    std::vector<int64_t> expand{x.size(0), 1};
    for (int j = 0; j < d; ++j) expand.push_back(x.size(2 + j));
    coords.push_back(torch::linspace(0.0, 1.0, n, x.options()).view(view).expand(expand));
  }
  coords.insert(coords.begin(), x);
  return torch::cat(coords, 1);
}

torch::Tensor FNOImpl::forward(const torch::Tensor& input) {
  const int d = config_.dim;
  if (input.dim() != d + 2 || input.size(1) != config_.in_channels)
    throw std::invalid_argument(fmt::format("FNO: expected input [batch, {}, {} spatial dims], got {}",
                                            config_.in_channels, d, fmt::join(input.sizes(), "x")));
  torch::Tensor x = config_.grid_embedding ? add_grid(input) : input;
  auto points = [](const torch::Tensor& t) { return t.numel() / (t.size(0) * t.size(1)) * t.size(0); };
  enter_stage(0);
  x = profile::run_op(
      recorder_, "lift", "linear",
      [&] { return profile::pointwise_linear_cost(points(x), x.size(1), config_.width, false); }, x,
      [&](const torch::Tensor& in) { return lift_->forward(in); });
  std::vector<int64_t> pad;  // F.pad order: last dim first, (left, right) pairs
  std::vector<int64_t> spatial(x.sizes().end() - d, x.sizes().end());
  if (config_.padding > 0) {
    for (int k = d - 1; k >= 0; --k) {
      pad.push_back(0);
      pad.push_back(static_cast<int64_t>(std::lround(config_.padding * spatial[k])));
    }
    x = torch::constant_pad_nd(x, pad, 0.0);
  }
  for (int l = 0; l < config_.layers; ++l) {
    profile::LayerScope scope(recorder_, l);
    x = spectral_[l]->forward(x, skip_[l].get());  // spectral(x) + skip(x); enters stage 1 + l after its transform
    if (l + 1 < config_.layers)
      x = profile::run_op(
          recorder_, "gelu", "elementwise", [&] { return profile::elementwise_cost(x.numel(), 1, 8.0); }, x,
          [](const torch::Tensor& in) { return torch::gelu(in); });
  }
  if (config_.padding > 0) {
    for (int k = 0; k < d; ++k) x = x.narrow(2 + k, 0, spatial[k]);
  }
  enter_stage(config_.layers + 1);
  x = profile::run_op(
      recorder_, "project_hidden", "linear",
      [&] { return profile::pointwise_linear_cost(points(x), config_.width, config_.projection_width, false); }, x,
      [&](const torch::Tensor& in) { return project_hidden_->forward(in); });
  x = profile::run_op(
      recorder_, "project_gelu", "elementwise", [&] { return profile::elementwise_cost(x.numel(), 1, 8.0); }, x,
      [](const torch::Tensor& in) { return torch::gelu(in); });
  return profile::run_op(
      recorder_, "project_out", "linear",
      [&] { return profile::pointwise_linear_cost(points(x), config_.projection_width, config_.out_channels, false); },
      x, [&](const torch::Tensor& in) { return project_out_->forward(in); });
}

torch::Tensor forward_rollout(FNOImpl& model, const torch::Tensor& x) {
  const config::ModelConfig& c = model.config();
  if (c.rollout_steps == 0) return model.forward(x);
  std::vector<torch::Tensor> outputs;
  torch::Tensor window = x;
  for (int s = 0; s < c.rollout_steps; ++s) {
    outputs.push_back(model.forward(window));
    window = torch::cat({window.narrow(1, c.out_channels, c.in_channels - c.out_channels), outputs.back()}, 1);
  }
  return torch::cat(outputs, 1);
}

std::map<std::string, ModeBlock> FNOImpl::mode_partitioned() const {
  std::map<std::string, ModeBlock> out;
  for (size_t l = 0; l < spectral_.size(); ++l) out.emplace(fmt::format("spectral{}.weight", l), spectral_[l]->block());
  return out;
}

void FNOImpl::set_stage_hook(std::function<void(int)> hook) {
  stage_hook_ = std::move(hook);
  for (size_t l = 0; l < spectral_.size(); ++l) {
    std::function<void()> before_mix;
    if (stage_hook_) before_mix = [this, l] { enter_stage(1 + static_cast<int>(l)); };
    spectral_[l]->set_before_mix(std::move(before_mix));
  }
}

void FNOImpl::set_recorder(profile::OpRecorder* recorder) {
  recorder_ = recorder;
  for (auto& layer : spectral_) layer->set_recorder(recorder);
}

void FNOImpl::set_mix_impl(MixImpl impl) {
  for (auto& layer : spectral_) layer->set_mix_impl(impl);
}

void FNOImpl::set_weight_grad_into(std::function<torch::Tensor(const torch::Tensor& weight)> into) {
  for (auto& layer : spectral_) {
    GradDestination per_layer;
    if (into) per_layer = [into, conv = layer.get()] { return into(conv->weight); };
    layer->set_weight_grad_into(std::move(per_layer));
  }
}

std::vector<std::vector<torch::Tensor>> FNOImpl::stage_parameters() const {
  std::vector<std::vector<torch::Tensor>> stages{lift_->parameters()};
  for (size_t l = 0; l < spectral_.size(); ++l) {
    stages.push_back(spectral_[l]->parameters());
    for (auto& p : skip_[l]->parameters()) stages.back().push_back(p);
  }
  stages.push_back(project_hidden_->parameters());
  for (auto& p : project_out_->parameters()) stages.back().push_back(p);
  return stages;
}

int64_t FNOImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace fourmi::models
