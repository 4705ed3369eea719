// pde_generators.cpp — the three FNO benchmark generators (Burgers 1D, Darcy 2D, Navier-Stokes 2D).
#include <fmt/format.h>
#include <torch/torch.h>

#include <stdexcept>

#include "fourmi/data/burgers1d.h"
#include "fourmi/data/darcy2d.h"
#include "fourmi/data/grf.h"
#include "fourmi/data/navier_stokes2d.h"
#include "fourmi/data/pde_generator.h"

namespace fourmi::data {
namespace {

using torch::indexing::None;
using torch::indexing::Slice;

double relative_l2(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).norm() / b.norm()).item<double>();
}

void require_finite(const torch::Tensor& t, const char* pde, int64_t first, int64_t count, const char* advice) {
  if (!torch::isfinite(t).all().item<bool>())
    throw std::runtime_error(
        fmt::format("datagen {}: the solve of samples {}..{} diverged; {}", pde, first, first + count - 1, advice));
}

// Trigonometric interpolation of periodic [B, n] signals onto 2n points.
torch::Tensor spectral_upsample_1d(const torch::Tensor& u) {
  const int64_t n = u.size(-1);
  torch::Tensor u_hat = torch::fft::rfft(u, c10::nullopt, -1).narrow(-1, 0, n / 2);  // drop the Nyquist mode
  return torch::fft::irfft(u_hat * 2.0, 2 * n, -1);
}

class Burgers1dGenerator final : public PdeGenerator {
 public:
  explicit Burgers1dGenerator(const config::Burgers1dConfig& c) : c_(c) {}
  std::vector<int64_t> x_shape() const override { return {1, c_.resolution}; }
  std::vector<int64_t> y_shape() const override { return {1, c_.resolution}; }
  nlohmann::json params() const override {
    return {{"pde", "burgers1d"},
            {"resolution", c_.resolution},
            {"viscosity", c_.viscosity},
            {"t_final", c_.t_final},
            {"grf_gamma", c_.grf_gamma},
            {"grf_tau", c_.grf_tau},
            {"grf_sigma", c_.grf_sigma},
            {"cfl", c_.cfl},
            {"solver", "pseudo-spectral, 2/3 dealiasing, integrating-factor RK4"}};
  }
  PdeBatch solve(int64_t count, std::uint64_t seed, int64_t first, torch::Device device) const override {
    torch::Tensor u0 =
        periodic_grf_1d(count, c_.resolution, c_.grf_gamma, c_.grf_tau, c_.grf_sigma, seed, first, device);
    BurgersSolveStats st;
    torch::Tensor u1 = solve_burgers1d(u0, c_.viscosity, c_.t_final, c_.cfl, &st);
    require_finite(u1, "burgers1d", first, count, "lower datagen.burgers1d.cfl or raise the resolution");
    return {u0.unsqueeze(1), u1.unsqueeze(1), fmt::format("({} steps, dt {:.2e})", st.steps, st.dt)};
  }
  double refinement_difference(int64_t count, std::uint64_t seed, torch::Device device) const override {
    PdeBatch coarse = solve(count, seed, 0, device);
    torch::Tensor u0_fine = spectral_upsample_1d(coarse.x.squeeze(1));
    torch::Tensor fine = solve_burgers1d(u0_fine, c_.viscosity, c_.t_final, c_.cfl);
    return relative_l2(coarse.y.squeeze(1), fine.index({Slice(), Slice(0, None, 2)}));
  }

 private:
  config::Burgers1dConfig c_;
};

class Darcy2dGenerator final : public PdeGenerator {
 public:
  explicit Darcy2dGenerator(const config::Darcy2dConfig& c) : c_(c) {}
  std::vector<int64_t> x_shape() const override { return {1, c_.resolution, c_.resolution}; }
  std::vector<int64_t> y_shape() const override { return {1, c_.resolution, c_.resolution}; }
  nlohmann::json params() const override {
    return {{"pde", "darcy2d"},
            {"resolution", c_.resolution},
            {"grf_gamma", c_.grf_gamma},
            {"grf_tau", c_.grf_tau},
            {"grf_sigma", c_.grf_sigma},
            {"grf_boundary", "neumann"},
            {"grf_mean_mode", "zero"},
            {"grf_points", "cell centres (2i+1)/(2n)"},
            {"a_pos", c_.a_pos},
            {"a_neg", c_.a_neg},
            {"source", 1.0},
            {"tol", c_.tol},
            {"max_iter", c_.max_iter},
            {"solver",
             "cell-centred finite volumes (5-point), arithmetic-mean face coefficients, u = 0 on the boundary faces, "
             "Jacobi-preconditioned CG"}};
  }
  PdeBatch solve(int64_t count, std::uint64_t seed, int64_t first, torch::Device device) const override {
    return solve_on(count, seed, first, device, c_.resolution);
  }
  int64_t refinement_factor() const override { return 3; }
  double refinement_difference(int64_t count, std::uint64_t seed, torch::Device device) const override {
    PdeBatch coarse = solve(count, seed, 0, device);
    // h / 3: the centre of coarse cell i is the centre of fine cell 3i + 1.
    PdeBatch fine = solve_on(count, seed, 0, device, 3 * c_.resolution);
    return relative_l2(coarse.y, fine.y.index({Slice(), Slice(), Slice(1, None, 3), Slice(1, None, 3)}));
  }

 private:
  PdeBatch solve_on(int64_t count, std::uint64_t seed, int64_t first, torch::Device device, int64_t grid) const {
    torch::Tensor mu =
        neumann_grf_2d(count, c_.resolution, grid, c_.grf_gamma, c_.grf_tau, c_.grf_sigma, seed, first, device);
    torch::Tensor a = darcy_coefficient(mu, c_.a_pos, c_.a_neg);
    DarcySolveStats st;
    torch::Tensor u = solve_darcy2d(a, 1.0, c_.tol, c_.max_iter, &st);
    require_finite(u, "darcy2d", first, count, "check datagen.darcy2d.a_pos / a_neg");
    return {a.unsqueeze(1), u.unsqueeze(1),
            fmt::format("({} CG iterations, residual {:.1e})", st.iterations, st.max_rel_residual)};
  }
  config::Darcy2dConfig c_;
};

class NavierStokes2dGenerator final : public PdeGenerator {
 public:
  explicit NavierStokes2dGenerator(const config::NavierStokes2dConfig& c) : c_(c) {
    if (c_.resolution % c_.store_resolution != 0)
      throw std::invalid_argument(fmt::format("datagen.navier_stokes2d.store_resolution {} must divide resolution {}",
                                              c_.store_resolution, c_.resolution));
  }
  bool spacetime() const { return c_.layout == "spacetime"; }
  std::vector<int64_t> x_shape() const override {
    if (spacetime()) return {1, c_.store_resolution, c_.store_resolution, c_.snapshots};
    return {1, c_.store_resolution, c_.store_resolution};
  }
  std::vector<int64_t> y_shape() const override {
    if (spacetime()) return {1, c_.store_resolution, c_.store_resolution, c_.snapshots};
    return {c_.snapshots, c_.store_resolution, c_.store_resolution};
  }
  nlohmann::json params() const override {
    return {{"pde", "navier_stokes2d"},
            {"resolution", c_.resolution},
            {"store_resolution", c_.store_resolution},
            {"viscosity", c_.viscosity},
            {"snapshots", c_.snapshots},
            {"interval", c_.interval},
            {"grf_alpha", c_.grf_alpha},
            {"grf_tau", c_.grf_tau},
            {"grf_sigma", c_.grf_sigma},
            {"forcing", c_.forcing},
            {"cfl", c_.cfl},
            {"dt_max", c_.dt_max},
            {"layout", c_.layout},
            {"x", spacetime() ? "w(t=0) repeated along the last (time) axis" : "w(t=0)"},
            {"y", spacetime() ? "w(t = k * interval) along the last axis, k = 1..snapshots"
                              : "w(t = k * interval), k = 1..snapshots"},
            {"solver", "pseudo-spectral, 2/3 dealiasing, Crank-Nicolson viscous term, Heun advection/forcing"}};
  }
  PdeBatch solve(int64_t count, std::uint64_t seed, int64_t first, torch::Device device) const override {
    torch::Tensor w0 =
        periodic_grf_2d(count, c_.resolution, c_.grf_alpha, c_.grf_tau, c_.grf_sigma, seed, first, device);
    NavierStokesSolveStats st;
    torch::Tensor w = run(w0, &st);
    require_finite(w, "navier_stokes2d", first, count, "lower datagen.navier_stokes2d.cfl or dt_max");
    const int64_t s = c_.resolution / c_.store_resolution;
    torch::Tensor x = stored(w0.unsqueeze(1), s), y = stored(w, s);  // [k, 1, n, n], [k, T, n, n]
    if (spacetime()) {
      y = y.permute({0, 2, 3, 1}).unsqueeze(1).contiguous();                    // [k, 1, n, n, T]
      x = x.unsqueeze(-1).expand({-1, -1, -1, -1, c_.snapshots}).contiguous();  // [k, 1, n, n, T]
    }
    return {x, y, fmt::format("({} steps, dt >= {:.2e}, max|u| {:.2f})", st.steps, st.min_dt, st.max_speed)};
  }
  double refinement_difference(int64_t count, std::uint64_t seed, torch::Device device) const override {
    torch::Tensor w0 = periodic_grf_2d(count, c_.resolution, c_.grf_alpha, c_.grf_tau, c_.grf_sigma, seed, 0, device);
    const int64_t s = c_.resolution / c_.store_resolution;
    torch::Tensor coarse = stored(run(w0, nullptr), s);
    torch::Tensor fine = stored(run(spectral_upsample_2d(w0, 2), nullptr), 2 * s);
    return relative_l2(coarse, fine);
  }

 private:
  torch::Tensor run(const torch::Tensor& w0, NavierStokesSolveStats* st) const {
    NavierStokesParams p{c_.viscosity, c_.interval, c_.snapshots, c_.cfl, c_.dt_max};
    return solve_navier_stokes2d(w0, ns_forcing(w0.size(-1), c_.forcing, w0.options()), p, st);
  }
  static torch::Tensor stored(const torch::Tensor& w, int64_t stride) {
    return w.index({"...", Slice(0, None, stride), Slice(0, None, stride)}).contiguous();
  }
  config::NavierStokes2dConfig c_;
};

}  // namespace

std::unique_ptr<PdeGenerator> make_pde_generator(const config::DatagenConfig& c) {
  if (c.pde == "burgers1d") return std::make_unique<Burgers1dGenerator>(c.burgers1d);
  if (c.pde == "darcy2d") return std::make_unique<Darcy2dGenerator>(c.darcy2d);
  if (c.pde == "navier_stokes2d") return std::make_unique<NavierStokes2dGenerator>(c.navier_stokes2d);
  throw std::invalid_argument(
      fmt::format("datagen.pde '{}' is not available; accepted: burgers1d, darcy2d, navier_stokes2d", c.pde));
}

}  // namespace fourmi::data
