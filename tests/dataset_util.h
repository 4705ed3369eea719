// dataset_util.h — test datasets whose samples tell which sample they are.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "fourmi/data/dataset.h"

namespace fourmi::testing {

// Writes a train split `name` of n samples into `shards` shards under `dir`: every element of
// sample i is i in x (shape x_shape) and -i in y (shape y_shape).
inline void write_indexed_dataset(const std::string& dir, const std::string& name, int64_t n, int shards,
                                  std::vector<int64_t> x_shape, std::vector<int64_t> y_shape) {
  data::Manifest m;
  m.name = name;
  m.split = "train";
  m.pde = "toy";
  m.num_samples = n;
  m.x_shape = x_shape;
  m.y_shape = y_shape;
  // [n, 1, ..., 1] holding i, broadcast to [n, *shape].
  auto indexed = [n](std::vector<int64_t> shape) {
    std::vector<int64_t> column(shape.size() + 1, 1);
    column[0] = n;
    shape.insert(shape.begin(), n);
    return torch::arange(n, torch::kFloat32).view(column).expand(shape);
  };
  data::DatasetWriter w(dir, m, shards);
  w.append(indexed(x_shape), -indexed(y_shape));
  w.finish();
}

}  // namespace fourmi::testing
