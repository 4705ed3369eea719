// Darcy generator: the coefficient field against an independent re-implementation of the FNO
// paper's GRF.m (same normals: the same field; own normals: the same spread of the a = 12
// fraction), the mean mode, the PCG residual checked by an independent stencil, and second-order
// convergence of the cell-centred scheme.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "fourmi/config/config.h"
#include "fourmi/data/darcy2d.h"
#include "fourmi/data/grf.h"

using namespace fourmi::data;
using torch::indexing::None;
using torch::indexing::Slice;

namespace {
// -div(a grad u) at cell (i, j) of the n x n cells, written out cell by cell (no tensor slicing):
// interior faces take the mean of the two cells, boundary faces u = 0 at distance h/2.
double stencil(const torch::TensorAccessor<double, 2>& a, const torch::TensorAccessor<double, 2>& u, int64_t i,
               int64_t j, int64_t n) {
  const double h = 1.0 / static_cast<double>(n);
  double s = 0;
  const int64_t di[4] = {1, -1, 0, 0}, dj[4] = {0, 0, 1, -1};
  for (int d = 0; d < 4; ++d) {
    const int64_t i2 = i + di[d], j2 = j + dj[d];
    if (i2 < 0 || i2 >= n || j2 < 0 || j2 >= n)
      s += a[i][j] * (u[i][j] - 0.0) / (h / 2);  // flux to the boundary value over half a cell
    else
      s += 0.5 * (a[i][j] + a[i2][j2]) * (u[i][j] - u[i2][j2]) / h;
  }
  return s / h;
}

// GRF.m of the FNO paper, re-implemented from its text with plain loops: xi = normrnd(0,1,s),
// [K1,K2] = meshgrid(0:s-1), coef = tau^(alpha-1) (pi^2 (K1^2+K2^2) + tau^2)^(-alpha/2),
// L = s coef .* xi, L(1,1) = 0, U = idct2(L). Matlab's idct2 is the orthonormal inverse DCT-II along
// each dimension: U(m,n) = sum_p sum_q w(p) w(q) L(p,q) cos(pi (2m-1)(p-1) / 2s) cos(pi (2n-1)(q-1) / 2s)
// (1-based), w(1) = sqrt(1/s), w(p) = sqrt(2/s). xi is row-major [s][s]; returns U row-major.
class GrfM {
 public:
  GrfM(int s, double alpha, double tau) : s_(s), c_(s * s), coef_(s * s), t_(s * s) {
    for (int m = 0; m < s; ++m)
      for (int p = 0; p < s; ++p)
        c_[m * s + p] =
            (p == 0 ? std::sqrt(1.0 / s) : std::sqrt(2.0 / s)) * std::cos(M_PI * (2 * m + 1) * p / (2.0 * s));
    for (int p = 0; p < s; ++p)
      for (int q = 0; q < s; ++q)  // coef(p, q) with K1 = q (columns), K2 = p (rows): symmetric anyway
        coef_[p * s + q] = std::pow(tau, alpha - 1) * std::pow(M_PI * M_PI * (q * q + p * p) + tau * tau, -alpha / 2);
  }
  std::vector<double> operator()(const std::vector<double>& xi) {
    const int s = s_;
    std::vector<double> l(s * s), u(s * s);
    for (int i = 0; i < s * s; ++i) l[i] = s * coef_[i] * xi[i];
    l[0] = 0;  // L(1,1) = 0
    for (int m = 0; m < s; ++m)
      for (int q = 0; q < s; ++q) {
        double acc = 0;
        for (int p = 0; p < s; ++p) acc += c_[m * s + p] * l[p * s + q];
        t_[m * s + q] = acc;
      }
    for (int m = 0; m < s; ++m)
      for (int n = 0; n < s; ++n) {
        double acc = 0;
        for (int q = 0; q < s; ++q) acc += t_[m * s + q] * c_[n * s + q];
        u[m * s + n] = acc;
      }
    return u;
  }

 private:
  int s_;
  std::vector<double> c_, coef_, t_;
};

struct Spread {
  double mean = 0, std = 0, lopsided = 0;  // over fields: the a = 12 fraction; share of fields > 90 % one value
};
Spread spread_of(const std::vector<double>& fractions) {
  Spread r;
  const double n = static_cast<double>(fractions.size());
  for (double f : fractions) r.mean += f / n;
  for (double f : fractions) {
    r.std += (f - r.mean) * (f - r.mean) / (n - 1);
    r.lopsided += (f > 0.9 || f < 0.1) / n;
  }
  r.std = std::sqrt(r.std);
  return r;
}
}  // namespace

TEST(Grf, NeumannFieldIsGrfMOnTheSameNormals) {
  // Given the normals fourmi draws, its field is GRF.m's idct2 of L at every cell centre.
  const int s = 24, count = 3;
  const double alpha = 2.0, tau = 3.0;
  auto mu = neumann_grf_2d(count, s, s, alpha, tau, std::pow(tau, alpha - 1), 17, 5, torch::kCPU);
  auto xi = grf_noise(count, {s, s}, 17, 5, torch::kCPU).contiguous();
  GrfM grf_m(s, alpha, tau);
  for (int b = 0; b < count; ++b) {
    std::vector<double> x(xi[b].data_ptr<double>(), xi[b].data_ptr<double>() + s * s);
    std::vector<double> ref = grf_m(x);
    auto ref_t = torch::from_blob(ref.data(), {s, s}, torch::kFloat64);
    double scale = ref_t.abs().max().item<double>();
    EXPECT_LT((mu[b] - ref_t).abs().max().item<double>(), 1e-12 * scale) << "sample " << b;
    // Mean mode zero: the cell-centre average of the (pre-threshold) field vanishes exactly.
    EXPECT_LT(std::abs(mu[b].mean().item<double>()), 1e-14 * scale) << "sample " << b;
  }
  // The same series on a grid three times finer takes the same values at the coarse centres.
  auto fine = neumann_grf_2d(count, s, 3 * s, alpha, tau, std::pow(tau, alpha - 1), 17, 5, torch::kCPU);
  EXPECT_TRUE(torch::allclose(fine.index({Slice(), Slice(1, None, 3), Slice(1, None, 3)}), mu, 1e-10, 1e-12));
}

TEST(Darcy2d, CoefficientSpreadMatchesGrfM) {
  // The fraction of the domain where a = 12, over many fields: fourmi's defaults against GRF.m
  // re-implemented with its own normals (std::mt19937_64). For GRF.m its std over fields is 0.059
  // at every resolution from 32^2 to 421^2 and no field is more than 90 % one value; a field that
  // kept the mean mode (or any other spectrum) is told apart at once (std 0.32, 30 % lopsided).
  const fourmi::config::Darcy2dConfig c;
  const int s = 64, fields = 1000;
  auto mu = neumann_grf_2d(fields, s, s, c.grf_gamma, c.grf_tau, c.grf_sigma, 3, 0, torch::kCPU);
  auto a = darcy_coefficient(mu, c.a_pos, c.a_neg);
  auto frac_t = (a == 12.0).to(torch::kFloat64).mean({1, 2}).contiguous();
  std::vector<double> fourmi_frac(frac_t.data_ptr<double>(), frac_t.data_ptr<double>() + fields);
  EXPECT_LT(mu.mean({1, 2}).abs().max().item<double>(), 1e-12);  // mean mode zero, every field

  GrfM grf_m(s, /*alpha=*/2.0, /*tau=*/3.0);  // demo.m's alpha, tau; threshold a = 12 where U >= 0
  std::mt19937_64 rng(20240601);
  std::normal_distribution<double> normal;
  std::vector<double> ref_frac(fields), xi(s * s);
  for (int f = 0; f < fields; ++f) {
    for (double& v : xi) v = normal(rng);
    std::vector<double> u = grf_m(xi);
    int pos = 0;
    for (double v : u) pos += v >= 0;
    ref_frac[f] = pos / static_cast<double>(s * s);
  }
  Spread mine = spread_of(fourmi_frac), ref = spread_of(ref_frac);
  std::printf(
      "a = 12 fraction over %d fields at %d^2: fourmi mean %.4f std %.4f lopsided %.3f; GRF.m mean %.4f std %.4f "
      "lopsided %.3f\n",
      fields, s, mine.mean, mine.std, mine.lopsided, ref.mean, ref.std, ref.lopsided);
  // The std of a std estimate from 1000 fields is about 2.2 %; 15 % between two estimates is 4.7 sigma.
  EXPECT_NEAR(ref.std, 0.059, 0.059 * 0.15);
  EXPECT_NEAR(mine.std / ref.std, 1.0, 0.15);
  EXPECT_NEAR(mine.mean, 0.5, 0.02);  // sign symmetry; std error 0.059 / sqrt(1000) = 0.0019
  EXPECT_EQ(ref.lopsided, 0.0);
  EXPECT_EQ(mine.lopsided, 0.0);
}

TEST(Darcy2d, SolveMeetsToleranceByAnIndependentResidual) {
  const int64_t n = 41;
  const double tol = 1e-9;
  auto mu = neumann_grf_2d(2, n, n, 2.0, 3.0, 3.0, 5, 0, torch::kCPU);
  auto a = darcy_coefficient(mu, 12.0, 3.0);
  DarcySolveStats st;
  auto u = solve_darcy2d(a, 1.0, tol, 5000, &st);
  ASSERT_EQ(u.sizes(), a.sizes());
  EXPECT_LE(st.max_rel_residual, tol);
  EXPECT_GT(st.iterations, 10);
  const double h = 1.0 / n;
  for (int64_t b = 0; b < 2; ++b) {
    torch::Tensor ub = u[b].contiguous(), ab = a[b].contiguous();
    auto ua = ub.accessor<double, 2>();
    auto aa = ab.accessor<double, 2>();
    double r2 = 0, f2 = 0, outflow = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double r = 1.0 - stencil(aa, ua, i, j, n);
        r2 += r * r, f2 += 1.0;
      }
    EXPECT_LE(std::sqrt(r2 / f2), tol * 1.01) << "sample " << b;
    // Discrete divergence theorem: the source over the square (1) leaves through the boundary faces.
    for (int64_t i = 0; i < n; ++i)
      outflow +=
          (aa[0][i] * ua[0][i] + aa[n - 1][i] * ua[n - 1][i] + aa[i][0] * ua[i][0] + aa[i][n - 1] * ua[i][n - 1]) /
          (h / 2) * h;
    EXPECT_NEAR(outflow, 1.0, 1e-6) << "sample " << b;
  }
  EXPECT_GT(u.min().item<double>(), 0.0);  // maximum principle: f = 1 > 0 gives u > 0 inside
}

TEST(Darcy2d, ConstantCoefficientConvergesAtSecondOrder) {
  // a = 1, f = 1: compare with the series solution of -Lap u = 1 on the unit square at the centre,
  // which is the centre of the middle cell for odd n.
  auto exact_center = [] {
    double s = 0;
    for (int k = 1; k < 400; k += 2)
      for (int l = 1; l < 400; l += 2)
        s += 16.0 / (M_PI * M_PI * k * l * M_PI * M_PI * (k * k + l * l)) * std::sin(M_PI * k / 2) *
             std::sin(M_PI * l / 2);
    return s;
  }();
  double err[2];
  int64_t sizes[2] = {15, 45};
  for (int t = 0; t < 2; ++t) {
    auto a = torch::ones({1, sizes[t], sizes[t]}, torch::kFloat64);
    auto u = solve_darcy2d(a, 1.0, 1e-12, 5000);
    err[t] = std::abs(u[0][sizes[t] / 2][sizes[t] / 2].item<double>() - exact_center);
  }
  EXPECT_NEAR(std::log(err[0] / err[1]) / std::log(3.0), 2.0, 0.2) << "errors " << err[0] << " " << err[1];
}

TEST(Darcy2d, CoefficientIsTwoValuedAndFollowsTheSignOfMu) {
  auto mu = neumann_grf_2d(3, 32, 32, 2.0, 3.0, 3.0, 9, 0, torch::kCPU);
  auto a = darcy_coefficient(mu, 12.0, 3.0);
  EXPECT_TRUE(torch::equal(a == 12.0, mu >= 0));
  EXPECT_TRUE(((a == 12.0) | (a == 3.0)).all().item<bool>());
  double frac = (a == 12.0).to(torch::kFloat64).mean().item<double>();
  EXPECT_GT(frac, 0.1);
  EXPECT_LT(frac, 0.9);
}
