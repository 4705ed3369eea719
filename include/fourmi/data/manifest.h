// manifest.h — the JSON index of a sharded dataset (docs/data.md documents every field).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace fourmi::data {

struct ShardInfo {
  std::string file;  // relative to the dataset directory
  int64_t num_samples = 0;
  std::string crc32;  // of the whole shard file
};

// A copy of the dataset at a coarser resolution, written by datagen next to the full one
// (`datagen.levels`): every sub-th point along each spatial dimension, in its own sharded dataset
// directory `dir` (relative to this dataset's directory) with its own manifest and checksums.
struct StoredLevel {
  int sub = 1;
  std::string dir;
};

struct FieldStats {  // per-channel statistics over all samples and points
  std::vector<double> mean;
  std::vector<double> std;
};

struct Manifest {
  static constexpr int kVersion = 1;
  std::string name;   // e.g. burgers1d-train
  std::string split;  // train | test
  std::string pde;
  int64_t num_samples = 0;
  std::vector<int64_t> x_shape;  // per sample: [C, n_1, ..., n_d]
  std::vector<int64_t> y_shape;
  std::string dtype = "float32";
  std::vector<ShardInfo> shards;
  nlohmann::json generator;  // parameters and seed that produced the data
  FieldStats x_stats, y_stats;
  std::vector<StoredLevel> levels;  // coarser copies of this dataset (none: an empty list)
  int stored_sub = 1;               // >1 in a level's own manifest: the subsampling of the solves it holds

  nlohmann::json to_json() const;
  // Validates while parsing; errors name `path` and the offending field.
  static Manifest from_json(const nlohmann::json& j, const std::string& path);
  static Manifest load(const std::string& dataset_dir);
  void save(const std::string& dataset_dir) const;
};

std::string shard_file_name(const std::string& name, int index, int count);

}  // namespace fourmi::data
