// loader.h — background prefetch of this rank's batches.
//
// Contract: one DataLoader per rank. A prefetch thread reads the rank's samples for an
// epoch (Sampler order) into pinned host buffers when the target is CUDA and queues up to
// `prefetch` batches; next() moves a batch to the device with a non-blocking copy on the
// caller's current stream. Errors in the reader thread are rethrown from next().
#pragma once

#include <torch/types.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "fourmi/data/dataset.h"
#include "fourmi/data/sampler.h"

namespace fourmi::data {

struct Batch {
  torch::Tensor x, y;        // [b, C, *spatial] on the target device; b >= 1
  torch::Tensor weight;      // [b]: 1 for real samples, 0 for the padding sample of an empty slice
  int64_t local_count = 0;   // real samples on this rank
  int64_t global_count = 0;  // real samples in this step over all data-parallel ranks
  int64_t step = 0;
  double wait_seconds = 0;   // time next() blocked waiting for the reader
};

class DataLoader {
 public:
  DataLoader(Dataset& dataset, Sampler sampler, torch::Device device, int prefetch);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  void start_epoch(int64_t epoch);
  std::optional<Batch> next();  // nullopt at the end of the epoch
  const Sampler& sampler() const { return sampler_; }

 private:
  void stop();
  void run(int64_t epoch);
  Dataset& dataset_;
  Sampler sampler_;
  torch::Device device_;
  size_t capacity_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool done_ = false, stop_ = false;
  std::exception_ptr error_;
};

}  // namespace fourmi::data
