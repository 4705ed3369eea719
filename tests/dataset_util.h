// dataset_util.h — test datasets whose samples tell which sample they are, and reading errors.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "fourmi/data/dataset.h"

namespace fourmi::testing {

// The manifest header of a toy train split `name` of n samples.
inline data::Manifest toy_header(const std::string& name, int64_t n, std::vector<int64_t> x_shape,
                                 std::vector<int64_t> y_shape) {
  data::Manifest m;
  m.name = name;
  m.split = "train";
  m.pde = "toy";
  m.num_samples = n;
  m.x_shape = std::move(x_shape);
  m.y_shape = std::move(y_shape);
  return m;
}

// Writes x and y (header.num_samples samples) into `shards` shards (plus `levels`) in two appends,
// the first of 3 samples, so that the batches straddle shard boundaries.
inline void write_in_two_appends(const std::string& dir, const data::Manifest& header, const torch::Tensor& x,
                                 const torch::Tensor& y, int shards, const std::vector<int>& levels = {}) {
  const int64_t n = x.size(0);
  data::DatasetWriter w(dir, header, shards, levels);
  w.append(x.narrow(0, 0, 3), y.narrow(0, 0, 3));
  w.append(x.narrow(0, 3, n - 3), y.narrow(0, 3, n - 3));
  w.finish();
}

// Writes a train split `name` of n samples into `shards` shards under `dir`: every element of
// sample i is i in x (shape x_shape) and -i in y (shape y_shape).
inline void write_indexed_dataset(const std::string& dir, const std::string& name, int64_t n, int shards,
                                  std::vector<int64_t> x_shape, std::vector<int64_t> y_shape) {
  // [n, 1, ..., 1] holding i, broadcast to [n, *shape].
  auto indexed = [n](std::vector<int64_t> shape) {
    std::vector<int64_t> column(shape.size() + 1, 1);
    column[0] = n;
    shape.insert(shape.begin(), n);
    return torch::arange(n, torch::kFloat32).view(column).expand(shape);
  };
  data::DatasetWriter w(dir, toy_header(name, n, x_shape, y_shape), shards);
  w.append(indexed(x_shape), -indexed(y_shape) - 1);  // y = -(i + 1): no all-zero target
  w.finish();
}

// Opens `dir` at subsampling `sub` and reads every sample; returns the error message, or "" if none.
inline std::string error_reading_dataset(const std::string& dir, int sub = 1) {
  try {
    data::Dataset ds(dir, sub, true);
    ds.read_all();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace fourmi::testing
