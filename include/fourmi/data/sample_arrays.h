// sample_arrays.h — an HDF5 file of per-sample arrays (dataset shards, predictions): named
// datasets [N, *shape], written a block of samples at a time.
#pragma once

#include <hdf5.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace fourmi::data {

// Writes "<path>.tmp" and renames it onto <path> in close(); a writer destroyed before close()
// removes the temporary, so no file under the final name is ever partial. Arrays of one value or
// more per sample are chunked one sample per chunk (a sample is one contiguous read); a scalar per
// sample ([N]) is stored contiguously. Not thread-safe (serial HDF5).
class SampleArraysWriter {
 public:
  struct Array {
    std::string name;                           // dataset name, e.g. "x" (stored as /x)
    std::vector<int64_t> shape;                 // per sample; empty: one scalar per sample
    torch::ScalarType dtype = torch::kFloat32;  // kFloat32, kFloat64 or kInt64
  };
  SampleArraysWriter(std::string path, int64_t num_samples, std::vector<Array> arrays);
  ~SampleArraysWriter();
  SampleArraysWriter(const SampleArraysWriter&) = delete;
  SampleArraysWriter& operator=(const SampleArraysWriter&) = delete;
  // Writes `values` ([k, *shape], any device; converted to the array's dtype) as samples
  // first..first+k-1 of array `index` (its position in the constructor's list).
  void write(size_t index, int64_t first, const torch::Tensor& values);
  // A string attribute on the file's root group (provenance: source checkpoint, dataset, ...).
  void set_attribute(const std::string& key, const std::string& value);
  // Closes the file and renames it onto its final name; throws naming the file on failure.
  void close();
  const std::string& path() const { return path_; }
  int64_t num_samples() const { return num_samples_; }

 private:
  std::string path_, tmp_path_;
  int64_t num_samples_;
  std::vector<Array> arrays_;
  std::vector<hid_t> datasets_;
  hid_t file_ = -1;
};

}  // namespace fourmi::data
