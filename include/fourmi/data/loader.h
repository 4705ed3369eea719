// loader.h — background prefetch of this rank's batches.
//
// Contract: one DataLoader per rank. A prefetch thread reads the rank's samples (Sampler
// order) into pinned host buffers when the target is CUDA and queues up to `prefetch`
// batches; next() moves a batch to the device with a non-blocking copy on the caller's
// current stream. start_epoch(e, end) lets the thread run on through epochs e..end-1 without
// draining at epoch boundaries (the order of every epoch is known from (seed, epoch)), while
// next() still returns nullopt at the end of each epoch. Before reading an epoch the thread
// opens the shards it needs (checksums in parallel) and keeps the kernel reading
// `readahead` samples ahead of it (posix_fadvise). Errors in the reader thread are rethrown
// from next() once the batches read before the error are consumed.
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
  int64_t epoch = 0;
  double wait_seconds = 0;  // time next() blocked waiting for the reader
};

class DataLoader {
 public:
  // readahead_samples: samples ahead of the reader that the kernel is asked to load; -1 = (prefetch + 1)
  // local batches, 0 = none.
  DataLoader(Dataset& dataset, Sampler sampler, torch::Device device, int prefetch, int64_t readahead_samples = -1);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Delivers epoch `epoch` next. `end_epoch` (default epoch + 1) is where reading stops; a
  // call for the epoch the thread is already reading ahead into keeps the thread running.
  // `first_step` > 0 starts that epoch at that step (a run resumed inside an epoch); the epochs
  // after it start at step 0.
  void start_epoch(int64_t epoch, int64_t end_epoch = -1, int64_t first_step = 0);
  std::optional<Batch> next();  // nullopt at the end of the epoch
  const Sampler& sampler() const { return sampler_; }

 private:
  void stop();
  void run(int64_t first_epoch, int64_t end_epoch, int64_t first_step);
  Dataset& dataset_;
  Sampler sampler_;
  torch::Device device_;
  size_t capacity_;
  int64_t readahead_;
  int64_t current_ = -1, end_ = -1;  // epoch next() delivers; the thread's end
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool done_ = false, stop_ = false;
  std::exception_ptr error_;
};

}  // namespace fourmi::data
