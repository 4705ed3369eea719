// import.h — `fourmi import`: a dataset another program wrote (MATLAB .mat, HDF5, NumPy .npy;
// config::ImportConfig, docs/import.md) into fourmi's sharded, checksummed format, one sample at a
// time, with the source and its checksum recorded in each manifest's "generator".
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "fourmi/config/config.h"
#include "fourmi/data/manifest.h"
#include "fourmi/data/source_array.h"

namespace fourmi::data {

// One side (x or y) of the samples: a source array's axes mapped onto [C, n_1, .., n_d], where C
// is the product of the c axis and (time_as: channels) the time window, and the spatial
// dimensions are x, y, z in that order, then t with time_as: space.
class ImportField {
 public:
  // `side` ("x" or "y") names the config keys in messages. Throws naming the array and the key
  // when the axes do not match the array or the time window does not fit.
  ImportField(const config::ImportFieldConfig& spec, std::unique_ptr<SourceArray> array, const std::string& side);
  int64_t num_samples() const { return array_->shape()[sample_axis_]; }
  const std::vector<int64_t>& sample_shape() const { return sample_shape_; }  // [C, n_1, .., n_d]
  // Sample `index` as float32 [C, n_1, .., n_d]; throws naming the array and sample on NaN/Inf.
  torch::Tensor read(int64_t index) const;
  const SourceArray& array() const { return *array_; }

 private:
  std::unique_ptr<SourceArray> array_;
  int sample_axis_ = 0;
  std::vector<int64_t> slab_shape_;  // the source's extents without the sample axis
  int time_dim_ = -1;                // in the slab, -1 without a t axis
  int64_t time_begin_ = 0, time_end_ = 0;
  std::vector<int64_t> permutation_;  // slab dims → channel dims then spatial dims
  int64_t repeat_ = 0;                // a new last spatial dimension of this many copies (0: none)
  std::vector<int64_t> sample_shape_;
};

// The format of `c.path` when c.format is auto: a directory → npy, *.mat → mat, else hdf5.
std::string import_format(const config::ImportConfig& c);

struct ImportedDatasets {
  std::string train_dir, test_dir;
  Manifest train, test;
};

// Writes <out>-train/ and <out>-test/. Throws naming the key, the file and the variable when the
// config or the source does not fit (missing keys, sample counts, grids that differ between x and
// y, test samples overlapping the training samples, NaN/Inf, an all-zero target).
ImportedDatasets import_datasets(const config::ImportConfig& c, bool progress);

}  // namespace fourmi::data
