// spectral_conv.cpp — single-rank spectral convolution over the flat retained-mode index.
#include "fourmi/models/spectral_conv.h"

#include <fmt/format.h>
#include <torch/fft.h>
#include <torch/torch.h>

#include <stdexcept>

#include "fourmi/models/mode_mix.h"
#include "fourmi/profile/profiler.h"

namespace fourmi::models {
namespace {

using torch::indexing::Slice;

// The index slices of corner `c` (bit k of c set → negative frequencies along dim k).
std::vector<torch::indexing::TensorIndex> corner_index(int corner, const std::vector<int>& modes,
                                                       const std::vector<int64_t>& spectrum_sizes) {
  const int d = static_cast<int>(modes.size());
  std::vector<torch::indexing::TensorIndex> idx{Slice(), Slice()};
  for (int k = 0; k < d - 1; ++k) {
    bool negative = (corner >> k) & 1;
    int64_t n = spectrum_sizes[k];
    idx.emplace_back(negative ? Slice(n - modes[k], n) : Slice(0, modes[k]));
  }
  idx.emplace_back(Slice(0, modes[d - 1]));
  return idx;
}

}  // namespace

void check_modes_fit(const std::vector<int>& modes, c10::IntArrayRef spatial) {
  const int d = static_cast<int>(modes.size());
  if (static_cast<int>(spatial.size()) != d)
    throw std::invalid_argument(
        fmt::format("spectral conv: input has {} spatial dimensions, the layer has {}", spatial.size(), d));
  for (int k = 0; k < d; ++k) {
    int64_t limit = (k == d - 1) ? spatial[k] / 2 : spatial[k] / 2;  // no overlap of corners, no Nyquist
    if (modes[k] > limit)
      throw std::invalid_argument(
          fmt::format("spectral conv: {} modes along spatial dimension {} need a grid of at least {} points, got {}; "
                      "use a finer grid (smaller data.sub) or fewer model.modes",
                      modes[k], k, 2 * modes[k], spatial[k]));
  }
}

torch::Tensor gather_modes(const torch::Tensor& x_ft, const std::vector<int>& modes) {
  // [B, C, n_1, .., n_d'] → [M, B, C]: mode-major, so channel mixing is one batched GEMM over modes.
  const int d = static_cast<int>(modes.size());
  std::vector<int64_t> sizes(x_ft.sizes().end() - d, x_ft.sizes().end());
  int64_t per_corner = 1;
  for (int m : modes) per_corner *= m;
  const int corners = 1 << (d - 1);
  torch::Tensor out = torch::empty({per_corner * corners, x_ft.size(0), x_ft.size(1)}, x_ft.options());
  std::vector<int64_t> view(modes.begin(), modes.end());
  view.push_back(x_ft.size(0));
  view.push_back(x_ft.size(1));
  std::vector<int64_t> perm;
  for (int k = 0; k < d; ++k) perm.push_back(2 + k);
  perm.push_back(0);
  perm.push_back(1);
  for (int c = 0; c < corners; ++c)
    out.narrow(0, c * per_corner, per_corner).view(view).copy_(x_ft.index(corner_index(c, modes, sizes)).permute(perm));
  return out;
}

torch::Tensor scatter_modes(const torch::Tensor& flat, const std::vector<int>& modes,
                            const std::vector<int64_t>& spectrum_sizes) {
  // [M, B, C] → zero spectrum [B, C, n_1, .., n_d'] holding the retained modes.
  const int d = static_cast<int>(modes.size());
  std::vector<int64_t> shape{flat.size(1), flat.size(2)};
  shape.insert(shape.end(), spectrum_sizes.begin(), spectrum_sizes.end());
  torch::Tensor out = torch::zeros(shape, flat.options());
  int64_t per_corner = 1;
  for (int m : modes) per_corner *= m;
  std::vector<int64_t> view(modes.begin(), modes.end());
  view.push_back(flat.size(1));
  view.push_back(flat.size(2));
  std::vector<int64_t> perm{d, d + 1};
  for (int k = 0; k < d; ++k) perm.push_back(k);
  for (int c = 0; c < (1 << (d - 1)); ++c) {
    torch::Tensor part = flat.narrow(0, c * per_corner, per_corner).view(view).permute(perm);
    out.index_put_(corner_index(c, modes, spectrum_sizes), part);
  }
  return out;
}

SpectralConvImpl::SpectralConvImpl(SpectralConvOptions options) : options_(std::move(options)) {
  const int d = dim();
  if (d < 1 || d > 3) throw std::invalid_argument(fmt::format("spectral conv: {} dimensions; accepted: 1, 2 or 3", d));
  int64_t per_corner = 1;
  for (int m : options_.modes) per_corner *= m;
  total_modes_ = per_corner << (d - 1);
  block_ = mode_block(total_modes_, options_.group.rank(), options_.group.size());
  const double scale = 1.0 / (static_cast<double>(options_.in_channels) * options_.out_channels);
  // One draw from the global generator seeds the layer; chunk c of kChunk modes comes from its
  // own generator, so every rank draws only the chunks it holds and all M give the same model.
  const int64_t layer_seed = torch::randint(0, int64_t{1} << 62, {1}, torch::kInt64).item<int64_t>();
  constexpr int64_t kChunk = 512;
  torch::Tensor w = torch::empty({block_.count, options_.in_channels, options_.out_channels, 2});
  for (int64_t c = block_.start / kChunk; c * kChunk < block_.start + block_.count; ++c) {
    const int64_t first = c * kChunk, len = std::min(kChunk, total_modes_ - first);
    auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(layer_seed) * 0x9e3779b97f4a7c15ULL +
                                              static_cast<uint64_t>(c));
    torch::Tensor chunk = torch::rand({len, options_.in_channels, options_.out_channels, 2}, gen);
    const int64_t lo = std::max(first, block_.start), hi = std::min(first + len, block_.start + block_.count);
    w.narrow(0, lo - block_.start, hi - lo).copy_(chunk.narrow(0, lo - first, hi - lo));
  }
  weight = register_parameter("weight", scale * w);
}

config::SpectralTransform choose_transform(config::SpectralTransform requested, const std::vector<int>& modes,
                                           const torch::Device& device, bool tf32) {
  if (requested != config::SpectralTransform::kAuto) return requested;
  if (!device.is_cuda()) return config::SpectralTransform::kFft;
  const int limit = tf32 ? kDftModeLimit : kDftModeLimitFp32;
  for (int m : modes)
    if (m > limit) return config::SpectralTransform::kFft;
  return config::SpectralTransform::kDft;
}

torch::Tensor SpectralConvImpl::forward(const torch::Tensor& x, const PointwiseLinearImpl* skip) {
  check_modes_fit(options_.modes, x.sizes().slice(2));
  if (skip && (skip->weight.size(0) != options_.out_channels || skip->weight.size(1) != options_.in_channels))
    throw std::invalid_argument(fmt::format("spectral conv: the skip maps {} to {} channels, the layer {} to {}",
                                            skip->weight.size(1), skip->weight.size(0), options_.in_channels,
                                            options_.out_channels));
  const bool tf32 = at::globalContext().allowTF32CuBLAS();
  if (choose_transform(options_.transform, options_.modes, x.device(), tf32) == config::SpectralTransform::kDft)
    return forward_dft(x, skip);
  return forward_fft(x, skip);
}

torch::Tensor SpectralConvImpl::mix(const torch::Tensor& all_modes) {
  torch::Tensor own = take_own_modes(all_modes, options_.group, block_);  // this rank's block [T_own, B, Cin]
  torch::Tensor mixed = mode_mix(own, weight, weight_grad_into_, mix_impl_);
  return gather_all_modes(mixed, options_.group, block_);
}

torch::Tensor SpectralConvImpl::forward_dft(const torch::Tensor& x, const PointwiseLinearImpl* skip) {
  std::vector<int64_t> grid(x.sizes().begin() + 2, x.sizes().end());
  if (!dft_ || !dft_->serves(grid, x.options()))
    dft_ = std::make_shared<const TruncatedDft>(grid, options_.modes, x.options());
  const int64_t batch = x.size(0), cin = options_.in_channels, cout = options_.out_channels;
  torch::Tensor modes_in = profile::run_op(
      recorder_, "dft", "dft", [&] { return profile::truncated_dft_cost(batch * cin, grid, options_.modes); }, x,
      [&](const torch::Tensor& in) { return truncated_dft(dft_, in); });
  if (before_mix_) before_mix_();
  torch::Tensor mixed = profile::run_op(
      recorder_, "spectral_mix", "spectral_mix",
      [&] { return profile::spectral_mix_cost(block_.count, batch, cin, cout, 0); }, modes_in,
      [&](const torch::Tensor& in) { return mix(in); });
  if (!skip)
    return profile::run_op(
        recorder_, "idft", "dft", [&] { return profile::truncated_dft_cost(batch * cout, grid, options_.modes); },
        mixed, [&](const torch::Tensor& in) { return truncated_idft(dft_, in); });
  return profile::run_op(
      recorder_, "idft_skip", "dft",
      [&] { return profile::inverse_dft_with_skip_cost(batch, cin, cout, grid, options_.modes); }, mixed,
      [&](const torch::Tensor& in) {
        return truncated_idft(dft_, in, {skip->weight, skip->bias, x});
      });
}

torch::Tensor SpectralConvImpl::forward_fft(const torch::Tensor& x, const PointwiseLinearImpl* skip) {
  const int d = dim();
  std::vector<int64_t> fft_dims;
  for (int k = 0; k < d; ++k) fft_dims.push_back(x.dim() - d + k);
  std::vector<int64_t> spatial(x.sizes().end() - d, x.sizes().end());
  const int64_t batch = x.size(0), cin = options_.in_channels, cout = options_.out_channels;
  auto fft_cost = [&, batch] { return profile::real_fft_cost(batch * cin, spatial); };
  torch::Tensor x_ft = profile::run_op(recorder_, "fft", "fft", fft_cost, x, [&](const torch::Tensor& in) {
    return torch::fft::rfftn(in, c10::nullopt, fft_dims);
  });
  std::vector<int64_t> spectrum(x_ft.sizes().end() - d, x_ft.sizes().end());
  int64_t spectrum_points = 1;
  for (auto n : spectrum) spectrum_points *= n;
  auto mix_cost = [&] { return profile::spectral_mix_cost(block_.count, batch, cin, cout, spectrum_points); };
  if (before_mix_) before_mix_();
  torch::Tensor out_ft =
      profile::run_op(recorder_, "spectral_mix", "spectral_mix", mix_cost, x_ft, [&](const torch::Tensor& in) {
        return scatter_modes(mix(gather_modes(in, options_.modes)), options_.modes, spectrum);
      });
  auto ifft_cost = [&, batch] { return profile::real_fft_cost(batch * cout, spatial); };
  torch::Tensor y = profile::run_op(recorder_, "ifft", "ifft", ifft_cost, out_ft,
                                    [&](const torch::Tensor& in) { return torch::fft::irfftn(in, spatial, fft_dims); });
  if (!skip) return y;
  const int64_t points = x.numel() / cin;
  return profile::run_op(
      recorder_, "skip_add", "linear", [&] { return profile::pointwise_linear_cost(points, cin, cout, true); }, x,
      [&](const torch::Tensor& in) { return skip->forward_add(in, y); });
}

}  // namespace fourmi::models
