// shard_file.h — one HDF5 shard: datasets /x and /y of float32 [N, C, n_1, ..., n_d],
// chunked one sample per chunk so that a sample is one contiguous read.
#pragma once

#include <hdf5.h>
#include <torch/types.h>

#include <string>
#include <vector>

#include "fourmi/data/sample_arrays.h"

namespace fourmi::data {

// Writes a shard to "<path>.tmp" and renames it onto <path> in close(); a crash leaves
// no file under the final name. Not thread-safe (serial HDF5).
class ShardWriter {
 public:
  ShardWriter(std::string path, int64_t num_samples, std::vector<int64_t> x_shape, std::vector<int64_t> y_shape);
  // x: [k, *x_shape], y: [k, *y_shape] float32 CPU, written at the current offset.
  void append(const torch::Tensor& x, const torch::Tensor& y);
  void close();
  int64_t written() const { return written_; }

 private:
  SampleArraysWriter file_;
  int64_t written_ = 0;
};

// Reads samples of one shard, optionally subsampled along every spatial dimension.
// Not thread-safe (serial HDF5): one reader thread per process.
class ShardReader {
 public:
  explicit ShardReader(std::string path);
  ~ShardReader();
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;
  int64_t num_samples() const { return num_samples_; }
  const std::vector<int64_t>& shape(const char* field) const;
  // Reads sample `index` of field "x" or "y" into `out` ([C, m_1, ..., m_d], float32, contiguous).
  void read(const char* field, int64_t index, int sub, torch::Tensor& out) const;
  // Asks the kernel to start reading sample `index` (both fields' chunks) into the page cache
  // without waiting (posix_fadvise WILLNEED on the chunks' file ranges), so that cold reads
  // are issued many at a time instead of one per read() call.
  void will_need(int64_t index);

 private:
  void release() noexcept;  // closes whatever is open
  std::string path_;
  hid_t file_ = -1, x_ = -1, y_ = -1;
  int fd_ = -1;  // plain descriptor for page-cache hints
  // Whether a field's chunks are exactly one sample of unfiltered little-endian float32, so a
  // sample is read with H5Dread_chunk (one pread, no selection or chunk-cache copy).
  bool x_direct_ = false, y_direct_ = false;
  int64_t num_samples_ = 0;
  std::vector<int64_t> x_shape_, y_shape_;
};

// Spatial shape after subsampling by `sub` (every sub-th point, starting at 0).
std::vector<int64_t> subsampled_shape(const std::vector<int64_t>& sample_shape, int sub);
// Copies every sub-th point along each spatial dimension of one sample [C, n_1, .., n_d]
// from `src` into `dst` (shape subsampled_shape(shape, sub)), without touching LibTorch.
void subsample_into(const float* src, const std::vector<int64_t>& shape, int sub, float* dst);

}  // namespace fourmi::data
