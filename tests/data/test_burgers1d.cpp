// Burgers generator: GRF reproducibility, the solver against the linear heat limit and a finer solve.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../test_util.h"
#include "fourmi/data/burgers1d.h"
#include "fourmi/data/dataset.h"
#include "fourmi/data/generate.h"
#include "fourmi/data/grf.h"

using namespace fourmi::data;

TEST(Grf, ReproducibleAndIndependentOfBatching) {
  auto all = periodic_grf_1d(6, 64, 2.5, 7, 49, 11, 0, torch::kCPU);
  auto tail = periodic_grf_1d(3, 64, 2.5, 7, 49, 11, 3, torch::kCPU);
  EXPECT_TRUE(torch::equal(all.narrow(0, 3, 3), tail));
  auto other = periodic_grf_1d(6, 64, 2.5, 7, 49, 12, 0, torch::kCPU);
  EXPECT_FALSE(torch::equal(all, other));
  EXPECT_LT(all.mean(1).abs().max().item<double>(), 1e-10);  // zero mean mode
}

TEST(Grf, VarianceMatchesSpectrum) {
  // Var u(x) = sum_{k != 0} 2 sigma^2 (4 pi^2 k^2 + tau^2)^-gamma / 2 * 2 (two real parts per complex mode)
  const double gamma = 2.5, tau = 7, sigma = 49;
  double expected = 0;
  for (int k = 1; k < 32; ++k)
    expected += 2 * 2 * sigma * sigma * std::pow(4 * M_PI * M_PI * k * k + tau * tau, -gamma) / 2;
  auto u = periodic_grf_1d(4000, 64, gamma, tau, sigma, 1, 0, torch::kCPU);
  double var = u.pow(2).mean().item<double>();
  EXPECT_NEAR(var / expected, 1.0, 0.05) << "sample variance " << var << " expected " << expected;
}

TEST(Burgers, SmallAmplitudeDecaysLikeHeatEquation) {
  const int64_t n = 128;
  const double nu = 0.05, eps = 1e-6, t = 0.5;
  auto x = torch::arange(n, torch::kFloat64) / static_cast<double>(n);
  auto u0 = (eps * torch::sin(2 * M_PI * x)).unsqueeze(0);
  auto u = solve_burgers1d(u0, nu, t, 0.4);
  auto expect = u0 * std::exp(-nu * 4 * M_PI * M_PI * t);
  EXPECT_LT(((u - expect).abs().max() / eps).item<double>(), 1e-6);
}

TEST(Burgers, AgreesWithTwiceFinerSolve) {
  const int64_t n = 512;
  auto u0 = periodic_grf_1d(2, 2 * n, 2.5, 7, 49, 3, 0, torch::kCPU);
  auto fine = solve_burgers1d(u0, 0.01, 1.0, 0.4);
  using torch::indexing::Slice;
  auto coarse = solve_burgers1d(u0.index({Slice(), Slice(0, 2 * n, 2)}).contiguous(), 0.01, 1.0, 0.4);
  double rel = ((coarse - fine.index({Slice(), Slice(0, 2 * n, 2)})).norm() / fine.norm()).item<double>();
  EXPECT_LT(rel, 1e-4) << "relative difference " << rel;
}

TEST(Burgers, EnergyDoesNotGrow) {
  auto u0 = periodic_grf_1d(3, 256, 2.5, 7, 49, 4, 0, torch::kCPU);
  auto u1 = solve_burgers1d(u0, 0.02, 1.0, 0.4);
  EXPECT_TRUE((u1.pow(2).sum(1) <= u0.pow(2).sum(1) + 1e-12).all().item<bool>());
  EXPECT_LE(u1.abs().max().item<double>(), u0.abs().max().item<double>() + 1e-9);  // maximum principle
}

TEST(Datagen, WritesTrainAndTestSplitsDeterministically) {
  fourmi::testing::TempDir tmp;
  fourmi::config::DatagenConfig c;
  c.out = tmp / "b/burgers";
  c.n_train = 6;
  c.n_test = 3;
  c.shards = 2;
  c.batch = 4;
  c.burgers1d.resolution = 64;
  c.burgers1d.viscosity = 0.05;
  auto a = generate_datasets(c, torch::kCPU, false);
  EXPECT_EQ(a.train.num_samples, 6);
  EXPECT_EQ(a.test.num_samples, 3);
  Dataset tr(a.train_dir, 1, true), te(a.test_dir, 1, true);
  auto [x1, y1] = tr.read_all();
  c.out = tmp / "c/burgers";
  c.batch = 1;
  c.shards = 3;
  auto b = generate_datasets(c, torch::kCPU, false);
  auto [x2, y2] = Dataset(b.train_dir, 1, true).read_all();
  EXPECT_TRUE(torch::equal(x1, x2));
  EXPECT_TRUE(torch::allclose(y1, y2, 1e-6, 1e-6));
  auto [xt, yt] = te.read_all();
  EXPECT_FALSE(torch::equal(xt, x1.narrow(0, 0, 3)));  // splits draw different fields
}

TEST(Burgers, ConservesTheMean) {
  // d/dt of the integral of u is zero on the torus: the flux (u^2/2 - nu u_x) is periodic.
  auto u0 = periodic_grf_1d(3, 256, 2.5, 7, 49, 8, 0, torch::kCPU) + 0.3;
  auto u1 = solve_burgers1d(u0, 0.02, 1.0, 0.4);
  EXPECT_LT((u1.mean(1) - u0.mean(1)).abs().max().item<double>(), 1e-12);
}

TEST(Datagen, DarcyAndNavierStokesWriteTheStatedShapes) {
  fourmi::testing::TempDir tmp;
  fourmi::config::DatagenConfig c;
  c.n_train = 3;
  c.n_test = 2;
  c.shards = 2;
  c.batch = 2;
  c.check_refinement = 1;
  c.pde = "darcy2d";
  c.out = tmp / "darcy";
  c.darcy2d.resolution = 21;
  auto d = generate_datasets(c, torch::kCPU, false);
  EXPECT_EQ(d.train.x_shape, (std::vector<int64_t>{1, 21, 21}));
  EXPECT_LT(d.train.generator["refinement_check"]["relative_l2_difference"].get<double>(), 0.1);
  auto [a, u] = Dataset(d.train_dir, 5, true).read_all();
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{3, 1, 5, 5}));
  EXPECT_TRUE(((a == 12.0) | (a == 3.0)).all().item<bool>());
  c.pde = "navier_stokes2d";
  c.out = tmp / "ns";
  c.navier_stokes2d.resolution = 32;
  c.navier_stokes2d.store_resolution = 16;
  c.navier_stokes2d.snapshots = 3;
  c.navier_stokes2d.interval = 0.5;
  auto ns = generate_datasets(c, torch::kCPU, false);
  EXPECT_EQ(ns.test.y_shape, (std::vector<int64_t>{3, 16, 16}));
  EXPECT_EQ(ns.test.num_samples, 2);
  c.navier_stokes2d.store_resolution = 12;
  EXPECT_THROW(generate_datasets(c, torch::kCPU, false), std::invalid_argument);
}
