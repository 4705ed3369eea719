// spectral_conv.h — Fourier layer kernel: truncated FFT, per-mode channel mixing, inverse FFT.
//
// The retained modes of a d-dimensional real FFT are the 2^(d-1) "corners" of the
// rfftn spectrum: along every dimension but the last, the lowest `modes[k]`
// positive and the `modes[k]` most negative frequencies; along the last, the
// lowest `modes[d-1]`. They are enumerated in a fixed order (corner-major, then
// row-major inside a corner) into one flat index m = 0..total_modes()-1, and the
// weights are one real tensor [total_modes, Cin, Cout, 2] viewed as complex inside
// forward(): LibTorch's Adam squares gradients without a conjugate, so complex
// parameters would get a wrong second moment.
//
// The transforms are rfftn/irfftn with the modes sliced out and placed back (fft), or GEMMs
// against the DFT matrices of the retained modes only (dft, truncated_dft.h); `transform` picks
// one, auto by choose_transform() on every forward (modes, device, TF32). Both give the same values and gradients.
//
// Mode parallelism: with a group of M ranks, `weight` holds only this rank's block of the flat
// mode index (mode_block); the forward transform is computed on the replicated input, the own
// modes mixed, and the mixed blocks all-gathered before the inverse transform. The initial
// weights are drawn in fixed chunks of modes from per-chunk generators, so a model has the same
// weights whatever M is.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <functional>
#include <vector>

#include "fourmi/config/config.h"
#include "fourmi/models/mode_mix.h"
#include "fourmi/models/mode_parallel.h"
#include "fourmi/models/pointwise.h"
#include "fourmi/models/truncated_dft.h"
#include "fourmi/profile/op_recorder.h"

namespace fourmi::models {

struct SpectralConvOptions {
  int in_channels = 1;
  int out_channels = 1;
  std::vector<int> modes;  // one entry per spatial dimension
  ModeGroup group;         // ranks sharing the retained modes (mode_parallel.h); default: one rank
  config::SpectralTransform transform = config::SpectralTransform::kAuto;
};

// The transform `requested` resolves to for the layer's modes and the device (never kAuto). auto:
// dft on CUDA when every axis keeps at most kDftModeLimit modes with TF32 GEMMs (kDftModeLimitFp32
// without: the largest counts measured, where the DFT still won), fft otherwise and on CPUs. The first GEMM's
// arithmetic intensity is about m_d flops per byte whatever the grid, so the limit is a mode count; its value is the
// measured crossover (docs/performance.md, bench/gpu/fno_step.sh).
config::SpectralTransform choose_transform(config::SpectralTransform requested, const std::vector<int>& modes,
                                           const torch::Device& device, bool tf32);
inline constexpr int kDftModeLimit = 128;
inline constexpr int kDftModeLimitFp32 = 48;

class SpectralConvImpl : public torch::nn::Module {
 public:
  explicit SpectralConvImpl(SpectralConvOptions options);

  // x: [B, Cin, n_1, ..., n_d] real → [B, Cout, n_1, ..., n_d] real. With `skip`, returns the
  // Fourier layer's sum spectral(x) + skip(x) (on the DFT path in the inverse transform's pass,
  // truncated_dft.h's SkipTerm); `skip` must map Cin to Cout channels.
  torch::Tensor forward(const torch::Tensor& x, const PointwiseLinearImpl* skip = nullptr);

  int dim() const { return static_cast<int>(options_.modes.size()); }
  int64_t total_modes() const { return total_modes_; }
  const SpectralConvOptions& options() const { return options_; }

  const ModeBlock& block() const { return block_; }
  // Called in forward() after the forward FFT, just before `weight` is first read (so that a
  // wait for the weight overlaps the FFT).
  void set_before_mix(std::function<void()> hook) { before_mix_ = std::move(hook); }
  // Where backward writes `weight`'s gradient (mode_mix's GradDestination; none: a new tensor).
  void set_weight_grad_into(GradDestination into) { weight_grad_into_ = std::move(into); }
  // Runs the layer's ops through `recorder` (timing, finite checks); null: plain.
  void set_recorder(profile::OpRecorder* recorder) { recorder_ = recorder; }
  // The mode mixing's implementation on CUDA tensors (mode_mix.h).
  void set_mix_impl(MixImpl impl) { mix_impl_ = impl; }

  torch::Tensor weight;  // [block().count, Cin, Cout, 2], real (the whole [total_modes, ...] on one rank)

 private:
  torch::Tensor forward_fft(const torch::Tensor& x, const PointwiseLinearImpl* skip);
  torch::Tensor forward_dft(const torch::Tensor& x, const PointwiseLinearImpl* skip);
  // The mode mixing of this rank's block: [T, B, Cin] complex (all modes) → [T, B, Cout] (all modes).
  torch::Tensor mix(const torch::Tensor& all_modes);

  SpectralConvOptions options_;
  int64_t total_modes_ = 0;
  ModeBlock block_;
  std::function<void()> before_mix_;
  GradDestination weight_grad_into_;
  profile::OpRecorder* recorder_ = nullptr;
  MixImpl mix_impl_ = MixImpl::kCublas;
  TruncatedDftPtr dft_;  // the last grid's DFT matrices
};
TORCH_MODULE(SpectralConv);

// Gathers the retained modes of an rfftn spectrum `x_ft` [B, C, n_1, ..., n_d/2+1]
// into [total_modes, B, C] in SpectralConv's flat order.
torch::Tensor gather_modes(const torch::Tensor& x_ft, const std::vector<int>& modes);
// The adjoint placement: scatters [total_modes, B, C] into a zero spectrum whose
// last d sizes are `spectrum_sizes`.
torch::Tensor scatter_modes(const torch::Tensor& flat, const std::vector<int>& modes,
                            const std::vector<int64_t>& spectrum_sizes);
// Checks that `modes` fit the spatial sizes; throws naming both when they do not.
void check_modes_fit(const std::vector<int>& modes, c10::IntArrayRef spatial_sizes);

}  // namespace fourmi::models
