// truncated_dft.cpp — retained-mode DFTs as rotating GEMMs (truncated_dft.h).
//
// Layouts. rotate_in contracts the last axis of the tensor and writes the new axis first:
//   x [B, C, n_1, .., n_d]  →  [2, m_d, B, C, n_1, .., n_{d-1}]  →  [2, 2m_{d-1}, m_d, B, C, n_1, ..]  → ...
//   →  [2, 2m_1, .., 2m_{d-1}, m_d, B, C]
// (the leading 2 is the real and imaginary plane). rotate_out runs it backwards: contracts the
// first axis after the planes and writes the new axis last. A complex step forward is two real
// GEMMs accumulating into one [2p, R] output (one per input plane); a complex step backward is two
// real GEMMs, one per output plane, each over both input planes viewed as one [2p, R] matrix.
#include "fourmi/models/truncated_dft.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <numeric>
#include <stdexcept>

namespace fourmi::models {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

// cos and sin of 2 pi f h / n for the frequencies `freqs` (rows) and h = 0..n-1 (columns), float64.
std::pair<torch::Tensor, torch::Tensor> phases(const std::vector<int64_t>& freqs, int64_t n) {
  auto f = torch::tensor(freqs, torch::kInt64).to(torch::kFloat64).unsqueeze(1);
  auto h = torch::arange(n, torch::kFloat64).unsqueeze(0);
  // f h mod n keeps the argument small, so the float64 phase stays exact for large n
  auto angle = kTwoPi * torch::remainder(f * h, static_cast<double>(n)) / static_cast<double>(n);
  return {torch::cos(angle), torch::sin(angle)};
}

// The retained frequencies of a complex axis: 0..m-1, then n-m..n-1 (the negative ones -m..-1).
std::vector<int64_t> corner_frequencies(int64_t n, int64_t m) {
  std::vector<int64_t> f(2 * m);
  for (int64_t r = 0; r < m; ++r) {
    f[r] = r;
    f[m + r] = n - m + r;
  }
  return f;
}

}  // namespace

TruncatedDft::TruncatedDft(std::vector<int64_t> grid, std::vector<int> modes, const torch::TensorOptions& options)
    : grid_(std::move(grid)), modes_(std::move(modes)), options_(options) {
  const int d = static_cast<int>(grid_.size());
  if (d < 1 || static_cast<int>(modes_.size()) != d)
    throw std::invalid_argument(
        fmt::format("truncated DFT: grid {} and modes {} must have the same number (1-3) of axes",
                    fmt::join(grid_, "x"), fmt::join(modes_, "x")));
  for (int k = 0; k < d; ++k) {
    const int64_t limit = grid_[k] / 2;
    if (modes_[k] < 1 || modes_[k] > limit)
      throw std::invalid_argument(
          fmt::format("truncated DFT: {} modes along axis {} of a {}-point grid; accepted: 1 to {}", modes_[k], k,
                      grid_[k], limit));
  }
  auto to = [&](const torch::Tensor& t) { return t.to(options_).contiguous(); };
  {
    const int64_t n = grid_[d - 1], m = modes_[d - 1];
    std::vector<int64_t> freqs(m);
    std::iota(freqs.begin(), freqs.end(), 0);
    auto [c, s] = phases(freqs, n);
    real_to_complex_ = to(torch::cat({c, -s}));
    // irfft: every frequency above 0 stands for itself and its mirror (m_d <= n_d / 2 keeps the
    // Nyquist frequency out); the imaginary part at frequency 0 drops out through sin(0) = 0
    auto weight = torch::full({m, 1}, 2.0, torch::kFloat64);
    weight[0] = 1.0;
    complex_to_real_ = to(torch::cat({weight * c, -weight * s}) / static_cast<double>(n));
  }
  for (int k = 0; k < d - 1; ++k) {
    const int64_t n = grid_[k];
    auto [c, s] = phases(corner_frequencies(n, modes_[k]), n);
    // forward e^{-i}: y_re = c T_re + s T_im, y_im = -s T_re + c T_im
    forward_.push_back({to(torch::cat({c, -s})), to(torch::cat({s, c}))});
    // inverse e^{+i} / n as y = Z^T · matrix over both planes: y_re = c Z_re - s Z_im, y_im = s Z_re + c Z_im
    inverse_.push_back(
        {to(torch::cat({c, -s}) / static_cast<double>(n)), to(torch::cat({s, c}) / static_cast<double>(n))});
  }
}

bool TruncatedDft::serves(c10::IntArrayRef grid, const torch::TensorOptions& options) const {
  return grid.vec() == grid_ && options.dtype() == options_.dtype() && options.device() == options_.device();
}

int64_t TruncatedDft::total_modes() const {
  int64_t t = modes_.back();
  for (size_t k = 0; k + 1 < modes_.size(); ++k) t *= 2 * modes_[k];
  return t;
}

torch::Tensor TruncatedDft::rotate_in(const torch::Tensor& x, const torch::Tensor& last,
                                      const std::vector<Pair>& pairs) const {
  const int d = static_cast<int>(grid_.size());
  torch::Tensor xc = x.contiguous();
  const int64_t rows = xc.numel() / grid_[d - 1];
  torch::Tensor t = torch::mm(last, xc.view({rows, grid_[d - 1]}).t());  // [2 m_d, rows]
  for (int k = d - 2; k >= 0; --k) {
    const int64_t n = grid_[k], rest = t.numel() / (2 * n);
    torch::Tensor re = t.view({2, rest, n}).select(0, 0), im = t.view({2, rest, n}).select(0, 1);
    torch::Tensor out = torch::mm(pairs[k].first, re.t());  // [2p, rest]
    out.addmm_(pairs[k].second, im.t());
    t = out;
  }
  return to_flat_order(t);
}

torch::Tensor TruncatedDft::rotate_out(const torch::Tensor& z, const std::vector<Pair>& pairs,
                                       const torch::Tensor& last) const {
  const int d = static_cast<int>(grid_.size());
  torch::Tensor t = from_flat_order(z);
  for (int k = 0; k < d - 1; ++k) {
    const int64_t n = grid_[k], p = pairs[k].first.size(0), rest = t.numel() / p;
    torch::Tensor both = t.view({p, rest}).t();  // [rest, 2p]: both planes of the contracted axis
    torch::Tensor out = torch::empty({2, rest, n}, t.options());
    torch::Tensor re = out.select(0, 0), im = out.select(0, 1);
    torch::mm_out(re, both, pairs[k].first);
    torch::mm_out(im, both, pairs[k].second);
    t = out;
  }
  const int64_t m2 = last.size(0), rows = t.numel() / m2;
  return torch::mm(t.view({m2, rows}).t(), last);  // [rows, n_d]
}

torch::Tensor TruncatedDft::to_flat_order(const torch::Tensor& rotated) const {
  const int d = static_cast<int>(grid_.size());
  if (d <= 2) return rotated;  // [2, (h_1, i_1), i_2, BC] is already corner-major
  // [2, h_1, i_1, .., h_{d-1}, i_{d-1}, i_d, BC] → [2, h_{d-1}, .., h_1, i_1, .., i_d, BC]
  std::vector<int64_t> view{2}, perm{0};
  for (int k = 0; k < d - 1; ++k) {
    view.push_back(2);
    view.push_back(modes_[k]);
  }
  view.push_back(modes_[d - 1]);
  view.push_back(-1);
  for (int k = d - 2; k >= 0; --k) perm.push_back(1 + 2 * k);
  for (int k = 0; k < d - 1; ++k) perm.push_back(2 + 2 * k);
  perm.push_back(2 * d - 1);
  perm.push_back(2 * d);
  return rotated.reshape(view).permute(perm).contiguous();
}

torch::Tensor TruncatedDft::from_flat_order(const torch::Tensor& flat) const {
  const int d = static_cast<int>(grid_.size());
  if (d <= 2) return flat.contiguous();
  // [2, h_{d-1}, .., h_1, i_1, .., i_d, BC] → [2, h_1, i_1, .., h_{d-1}, i_{d-1}, i_d, BC]
  std::vector<int64_t> view{2};
  for (int k = d - 2; k >= 0; --k) view.push_back(2);
  for (int k = 0; k < d; ++k) view.push_back(modes_[k]);
  view.push_back(-1);
  std::vector<int64_t> perm{0};
  for (int k = 0; k < d - 1; ++k) {
    perm.push_back(d - 1 - k);  // h_{k+1} sits at 1 + (d - 2 - k)
    perm.push_back(d + k);      // i_{k+1}
  }
  perm.push_back(2 * d - 1);
  perm.push_back(2 * d);
  return flat.reshape(view).permute(perm).contiguous();
}

torch::Tensor TruncatedDft::forward(const torch::Tensor& x) const {
  return rotate_in(x, real_to_complex_, forward_).view({2, total_modes(), x.size(0), x.size(1)});
}

torch::Tensor TruncatedDft::adjoint_forward(const torch::Tensor& g) const {
  std::vector<int64_t> shape{g.size(2), g.size(3)};
  shape.insert(shape.end(), grid_.begin(), grid_.end());
  return rotate_out(g, forward_, real_to_complex_).view(shape);
}

torch::Tensor TruncatedDft::inverse(const torch::Tensor& z) const {
  std::vector<int64_t> shape{z.size(2), z.size(3)};
  shape.insert(shape.end(), grid_.begin(), grid_.end());
  return rotate_out(z, inverse_, complex_to_real_).view(shape);
}

torch::Tensor TruncatedDft::adjoint_inverse(const torch::Tensor& g) const {
  torch::Tensor t = rotate_in(g, complex_to_real_, inverse_);
  return t.view({2, total_modes(), g.size(0), g.size(1)});
}

namespace {

struct DftHolder : torch::CustomClassHolder {
  explicit DftHolder(TruncatedDftPtr p) : dft(std::move(p)) {}
  TruncatedDftPtr dft;
};

const TruncatedDft& held(torch::autograd::AutogradContext* ctx) {
  return *static_cast<DftHolder*>(ctx->saved_data["dft"].toCapsule().get())->dft;
}

int64_t points_of(const std::vector<int64_t>& grid) {
  return std::accumulate(grid.begin(), grid.end(), int64_t{1}, std::multiplies<>());
}

torch::Tensor planar_to_complex(const torch::Tensor& planar) { return torch::complex(planar[0], planar[1]); }
torch::Tensor complex_to_planar(const torch::Tensor& z) {
  return torch::view_as_real(z.resolve_conj()).permute({3, 0, 1, 2}).contiguous();
}

struct ForwardDft : public torch::autograd::Function<ForwardDft> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const TruncatedDftPtr& dft) {
    ctx->saved_data["dft"] = c10::IValue::make_capsule(c10::make_intrusive<DftHolder>(dft));
    return planar_to_complex(dft->forward(x));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    return {held(ctx).adjoint_forward(complex_to_planar(grads[0])), torch::Tensor()};
  }
};

struct InverseDft : public torch::autograd::Function<InverseDft> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& z,
                               const TruncatedDftPtr& dft) {
    ctx->saved_data["dft"] = c10::IValue::make_capsule(c10::make_intrusive<DftHolder>(dft));
    return dft->inverse(complex_to_planar(z));
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    return {planar_to_complex(held(ctx).adjoint_inverse(grads[0])), torch::Tensor()};
  }
};

// y = inverse(z) + W x + b (SkipTerm). Saves W and x for the skip's gradients.
struct InverseDftWithSkip : public torch::autograd::Function<InverseDftWithSkip> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& z,
                               const TruncatedDftPtr& dft, const torch::Tensor& skip_weight,
                               const torch::Tensor& skip_bias, const torch::Tensor& skip_input) {
    ctx->saved_data["dft"] = c10::IValue::make_capsule(c10::make_intrusive<DftHolder>(dft));
    ctx->save_for_backward({skip_weight, skip_input});
    torch::Tensor planar = complex_to_planar(z);                     // [2, T, B, C]
    if (planar.data_ptr() == z.data_ptr()) planar = planar.clone();  // the bias is added in place
    planar[0][0].add_(skip_bias.unsqueeze(0), static_cast<double>(points_of(dft->grid())));
    torch::Tensor y = dft->inverse(planar);
    const int64_t batch = y.size(0), cout = y.size(1);
    y.view({batch, cout, -1})
        .baddbmm_(skip_weight.unsqueeze(0).expand({batch, cout, skip_weight.size(1)}),
                  skip_input.reshape({batch, skip_input.size(1), -1}));
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const TruncatedDft& dft = held(ctx);
    auto saved = ctx->get_saved_variables();
    const torch::Tensor& w = saved[0];
    const torch::Tensor& x = saved[1];
    torch::Tensor g = grads[0].contiguous();
    torch::Tensor gz_planar = dft.adjoint_inverse(g);  // [2, T, B, C]
    const int64_t batch = g.size(0), cout = g.size(1), cin = w.size(1);
    torch::Tensor g3 = g.view({batch, cout, -1}), x3 = x.reshape({batch, cin, -1});
    torch::Tensor gw = torch::bmm(g3, x3.transpose(1, 2)).sum(0);  // Σ_b g_b x_b^T
    torch::Tensor gb = gz_planar[0][0].sum(0) * static_cast<double>(points_of(dft.grid()));
    torch::Tensor gx = torch::bmm(w.t().unsqueeze(0).expand({batch, cin, cout}), g3).view(x.sizes());
    return {planar_to_complex(gz_planar), torch::Tensor(), gw, gb, gx};
  }
};

}  // namespace

torch::Tensor truncated_dft(const TruncatedDftPtr& dft, const torch::Tensor& x) {
  if (!dft->serves(x.sizes().slice(2), x.options()))
    throw std::invalid_argument(fmt::format("truncated DFT: built for grid {}, given input {}",
                                            fmt::join(dft->grid(), "x"), fmt::join(x.sizes(), "x")));
  return ForwardDft::apply(x, dft);
}

torch::Tensor truncated_idft(const TruncatedDftPtr& dft, const torch::Tensor& z, const SkipTerm& skip) {
  if (z.dim() != 3 || z.size(0) != dft->total_modes())
    throw std::invalid_argument(fmt::format("truncated inverse DFT: expected [{}, B, C] modes, given {}",
                                            dft->total_modes(), fmt::join(z.sizes(), "x")));
  if (!skip.weight.defined()) return InverseDft::apply(z, dft);
  std::vector<int64_t> input_shape{z.size(1), skip.weight.size(1)};
  input_shape.insert(input_shape.end(), dft->grid().begin(), dft->grid().end());
  if (skip.weight.dim() != 2 || skip.weight.size(0) != z.size(2) || !skip.bias.defined() ||
      skip.bias.sizes() != c10::IntArrayRef{z.size(2)} || skip.input.sizes() != c10::IntArrayRef(input_shape))
    throw std::invalid_argument(fmt::format(
        "truncated inverse DFT: the skip needs weight [{}, Cin], bias [{}] and input [{}]; given {}, {} and {}",
        z.size(2), z.size(2), fmt::join(input_shape, "x"), fmt::join(skip.weight.sizes(), "x"),
        skip.bias.defined() ? fmt::format("{}", fmt::join(skip.bias.sizes(), "x")) : "none",
        fmt::join(skip.input.sizes(), "x")));
  return InverseDftWithSkip::apply(z, dft, skip.weight, skip.bias, skip.input);
}

}  // namespace fourmi::models
