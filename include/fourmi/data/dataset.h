// dataset.h — a sharded dataset on disk: writer (used by generators) and reader (used by the loader).
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "fourmi/data/manifest.h"
#include "fourmi/data/shard_file.h"

namespace fourmi::data {

// Streams samples into `num_shards` shard files of near-equal size, accumulates the
// per-channel statistics, and writes manifest.json last, so a dataset directory with a
// manifest is always complete. With `levels`, it also writes a copy subsampled by each level
// into <dir>/sub<L>/ (a complete dataset of its own, same shard count, carrying this dataset's
// normalisation statistics), finished before this dataset's manifest.
class DatasetWriter {
 public:
  DatasetWriter(std::string dir, Manifest header, int num_shards, const std::vector<int>& levels = {});
  // x: [k, *x_shape], y: [k, *y_shape]; any device/dtype (stored as float32).
  void append(const torch::Tensor& x, const torch::Tensor& y);
  Manifest finish();

 private:
  void open_next_shard();
  // Writes float32 CPU samples into the shards (no statistics).
  void write_samples(const torch::Tensor& x, const torch::Tensor& y);
  // Closes the shards, checksums them and writes the manifest; a level takes `parent`'s statistics.
  Manifest complete(const Manifest* parent);
  std::vector<std::unique_ptr<DatasetWriter>> level_writers_;
  std::string dir_;
  Manifest manifest_;
  int num_shards_;
  std::vector<int64_t> shard_sizes_;
  std::unique_ptr<ShardWriter> current_;
  int current_index_ = -1;
  std::vector<double> x_sum_, x_sq_, y_sum_, y_sq_;
  double points_x_ = 0, points_y_ = 0;
};

// Random access to samples of a dataset directory. Shards are opened (and their checksum
// verified) on first use only, so a rank touches only the shards holding its samples;
// open_shards_for() opens a known set of samples' shards up front, checksumming them in parallel.
// With `use_levels`, a stored coarser copy whose sub divides `sub` is read instead of the full
// resolution (the same points, fewer bytes from disk); dir() and manifest() are then the level's.
// Not thread-safe: one thread reads (the loader's prefetch thread).
class Dataset {
 public:
  Dataset(std::string dir, int sub, bool verify_checksums, int64_t limit = 0, bool use_levels = true);
  const Manifest& manifest() const { return manifest_; }
  const std::string& dir() const { return dir_; }
  int64_t size() const { return size_; }
  int sub() const { return sub_; }
  int stored_sub() const { return manifest_.stored_sub; }  // 1: full resolution read; L: the level of sub L
  std::vector<int64_t> x_shape() const {
    return subsampled_shape(manifest_.x_shape, read_sub_);
  }  // per sample, after sub
  std::vector<int64_t> y_shape() const { return subsampled_shape(manifest_.y_shape, read_sub_); }
  // Reads sample `index` into x_out / y_out (float32, shapes x_shape() / y_shape()).
  // Throws naming the file, field and sample on NaN/Inf or a read failure.
  void read(int64_t index, torch::Tensor& x_out, torch::Tensor& y_out);
  // Opens (and verifies) every shard holding one of `indices` that is not open yet; the
  // checksums of those shards are computed by parallel threads.
  void open_shards_for(const std::vector<int64_t>& indices);
  // Starts the kernel reading sample `index` into the page cache without waiting (readahead).
  void will_need(int64_t index);
  // Reads the whole dataset (tests and small evaluations).
  std::pair<torch::Tensor, torch::Tensor> read_all();

 private:
  ShardReader& shard(size_t s);
  size_t shard_of(int64_t index) const;
  std::string shard_path(size_t s) const;
  void open_shard(size_t s, bool verified);
  // Throws naming shard `s` when `crc` differs from the manifest's.
  void check_crc(size_t s, const std::string& crc) const;
  // Switches to the coarsest stored level whose sub divides sub_ (if any), checking it against this manifest.
  void select_level();
  std::string dir_;
  Manifest manifest_;
  int sub_;
  int read_sub_;  // subsampling applied to what is read: sub_ / the chosen level's sub
  bool verify_;
  int64_t size_;
  std::vector<int64_t> shard_start_;
  std::vector<std::unique_ptr<ShardReader>> readers_;
};

}  // namespace fourmi::data
