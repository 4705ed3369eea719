#include "fourmi/train/predict.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>

#include "fourmi/data/sample_arrays.h"
#include "fourmi/train/loss.h"
#include "fourmi/util/fs.h"

namespace fourmi::train {

std::string prediction_file_name(int index, int count) { return fmt::format("pred-{:05d}-of-{:05d}.h5", index, count); }

PredictionSummary predict_dataset(Trainer& trainer, data::Dataset& dataset, int64_t batch_size,
                                  const std::string& out_dir, const nlohmann::json& provenance) {
  const data::Manifest& manifest = dataset.manifest();
  distributed::Communicator& data_comm = trainer.data_comm();
  const bool writer = trainer.model()->mode_group().rank() == 0;
  const int shards = static_cast<int>(manifest.shards.size());
  std::vector<int64_t> x_shape = dataset.x_shape(), y_shape = dataset.y_shape();
  std::vector<int64_t> batch_x{batch_size}, batch_y{batch_size};
  batch_x.insert(batch_x.end(), x_shape.begin(), x_shape.end());
  batch_y.insert(batch_y.end(), y_shape.begin(), y_shape.end());
  double err_sum = 0;
  int64_t done = 0;
  int64_t shard_start = 0;
  PredictionSummary summary;
  for (int s = 0; s < shards; ++s) {
    const int64_t begin = std::min(shard_start, dataset.size());
    const int64_t end = std::min(shard_start + manifest.shards[s].num_samples, dataset.size());
    shard_start += manifest.shards[s].num_samples;
    if (end <= begin) continue;
    const std::string name = prediction_file_name(s, shards);
    summary.files.push_back(name);  // every rank's files, for the summary
    if (s % data_comm.size() != data_comm.rank()) continue;
    std::unique_ptr<data::SampleArraysWriter> out;
    if (writer) {
      out = std::make_unique<data::SampleArraysWriter>(
          (std::filesystem::path(out_dir) / name).string(), end - begin,
          std::vector<data::SampleArraysWriter::Array>{{"prediction", y_shape, torch::kFloat32},
                                                       {"target", y_shape, torch::kFloat32},
                                                       {"rel_l2", {}, torch::kFloat64},
                                                       {"sample", {}, torch::kInt64}});
      out->set_attribute("checkpoint", provenance.value("checkpoint", ""));
      out->set_attribute("dataset", dataset.dir());
      out->set_attribute("source_shard", manifest.shards[s].file);
      out->set_attribute("read_sub", std::to_string(dataset.sub() / dataset.stored_sub()));
    }
    for (int64_t first = begin; first < end; first += batch_size) {
      const int64_t n = std::min(batch_size, end - first);
      torch::Tensor x = torch::empty(batch_x, torch::kFloat32).narrow(0, 0, n);
      torch::Tensor y = torch::empty(batch_y, torch::kFloat32).narrow(0, 0, n);
      for (int64_t i = 0; i < n; ++i) {
        torch::Tensor xi = x[i], yi = y[i];
        dataset.read(first + i, xi, yi);
      }
      torch::Tensor target = y.to(trainer.device());
      torch::Tensor pred = trainer.predict(x.to(trainer.device()));
      torch::Tensor err = relative_l2_per_sample(pred, target).to(torch::kCPU, torch::kFloat64);
      err_sum += err.sum().item<double>();
      done += n;
      if (out) {
        out->write(0, first - begin, pred);
        out->write(1, first - begin, y);
        out->write(2, first - begin, err);
        out->write(3, first - begin, torch::arange(first, first + n, torch::kInt64));
      }
    }
    if (out) out->close();
  }
  torch::Tensor totals = trainer.reduce_sum(torch::tensor({err_sum, static_cast<double>(done)}, torch::kFloat64));
  summary.samples = static_cast<int64_t>(totals[1].item<double>());
  summary.rel_l2 = totals[0].item<double>() / std::max<double>(1.0, totals[1].item<double>());
  if (writer && data_comm.rank() == 0) {
    nlohmann::json j = provenance;
    j["dataset"] = dataset.dir();
    j["sub"] = dataset.sub();
    j["read_sub"] = dataset.sub() / dataset.stored_sub();  // the subsampling of the files of "dataset"
    j["samples"] = summary.samples;
    j["rel_l2_mean"] = summary.rel_l2;
    j["files"] = summary.files;
    j["prediction_shape"] = y_shape;
    util::atomic_write_text((std::filesystem::path(out_dir) / "predictions.json").string(), j.dump(2) + "\n");
  }
  return summary;
}

}  // namespace fourmi::train
