// generate.h — `fourmi datagen`: solve a PDE for many random inputs and write train/test datasets.
#pragma once

#include <torch/types.h>

#include <string>

#include "fourmi/config/config.h"
#include "fourmi/data/manifest.h"

namespace fourmi::data {

struct GeneratedDatasets {
  std::string train_dir, test_dir;
  Manifest train, test;
};

// The output prefix: datagen.out, or data/<pde> when it is empty.
std::string datagen_out(const config::DatagenConfig& config);

// Writes <out>-train/ and <out>-test/ (each: shards + manifest.json). Deterministic in
// datagen.seed: sample i of a split is the same whatever the batch, shard count or device.
GeneratedDatasets generate_datasets(const config::DatagenConfig& config, torch::Device device, bool progress);

}  // namespace fourmi::data
