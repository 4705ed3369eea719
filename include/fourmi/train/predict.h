// predict.h — a trained model's outputs on a whole dataset, written as HDF5 beside per-sample
// errors (`fourmi predict`, docs/predict.md).
//
// Output directory:
//   <out>/pred-<s>-of-<S>.h5  for each shard s of the dataset: /prediction float32 [n, C_out, m_1..m_d]
//                             (physical units, on data.sub's grid), /target float32 (the same
//                             shape), /rel_l2 float64 [n], /sample int64 [n] (index in the dataset);
//                             string attributes checkpoint, dataset (the directory read),
//                             source_shard, read_sub (every read_sub-th point of that shard's
//                             samples along each spatial dimension)
//   <out>/predictions.json    written last: the files, the sample count and the mean relative L2,
//                             which is `fourmi eval`'s test error on the same data
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "fourmi/data/dataset.h"
#include "fourmi/train/trainer.h"

namespace fourmi::train {

struct PredictionSummary {
  double rel_l2 = 0;  // mean over the samples
  int64_t samples = 0;
  std::vector<std::string> files;  // every rank's, in shard order (file names inside the output directory)
};

// Name of the predictions file for shard `index` of `count`.
std::string prediction_file_name(int index, int count);

// Contract: every rank of the grid calls it with the same dataset, batch size and output
// directory (which exists). Data rank r of the trainer's data group predicts shards r, r + D,
// ...; the ranks of one mode group run the same batches in the same order (the model's forward
// is collective over them) and its mode rank 0 writes the files. The summary is summed over the
// data group (one all-reduce); grid rank 0 writes predictions.json with `provenance` added.
PredictionSummary predict_dataset(Trainer& trainer, data::Dataset& dataset, int64_t batch_size,
                                  const std::string& out_dir, const nlohmann::json& provenance);

}  // namespace fourmi::train
