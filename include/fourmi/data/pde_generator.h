// pde_generator.h — one PDE benchmark as `fourmi datagen` sees it: sample shapes, a batched
// solve from per-sample seeds, and a re-solve on a finer grid for the refinement check.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fourmi/config/config.h"

namespace fourmi::data {

struct PdeBatch {
  torch::Tensor x, y;  // [k, *x_shape], [k, *y_shape] at the stored resolution, float64
  std::string note;    // solver statistics for the progress line
};

class PdeGenerator {
 public:
  virtual ~PdeGenerator() = default;
  virtual std::vector<int64_t> x_shape() const = 0;
  virtual std::vector<int64_t> y_shape() const = 0;
  virtual nlohmann::json params() const = 0;  // every generating parameter, stored in the manifest
  // Samples first .. first+count-1 of the stream `seed`; depends only on (seed, index).
  virtual PdeBatch solve(int64_t count, std::uint64_t seed, int64_t first, torch::Device device) const = 0;
  // Relative L2 difference between the stored outputs of `count` samples and the same samples
  // solved on a grid refinement_factor() times as fine (same continuous input), compared at the
  // stored points.
  virtual double refinement_difference(int64_t count, std::uint64_t seed, torch::Device device) const = 0;
  // 2, or 3 for cell-centred grids (whose centres are shared with a grid 3 times finer, not 2).
  virtual int64_t refinement_factor() const { return 2; }
};

std::unique_ptr<PdeGenerator> make_pde_generator(const config::DatagenConfig& config);

}  // namespace fourmi::data
