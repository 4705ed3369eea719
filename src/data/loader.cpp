#include "fourmi/data/loader.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

namespace fourmi::data {

DataLoader::DataLoader(Dataset& dataset, Sampler sampler, torch::Device device, int prefetch, int64_t readahead_samples)
    : dataset_(dataset),
      sampler_(std::move(sampler)),
      device_(device),
      capacity_(static_cast<size_t>(prefetch)),
      readahead_(readahead_samples >= 0 ? readahead_samples : (prefetch + 1) * sampler_.local_batch()) {}

DataLoader::~DataLoader() { stop(); }

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DataLoader::start_epoch(int64_t epoch, int64_t end_epoch, int64_t first_step) {
  if (end_epoch <= epoch) end_epoch = epoch + 1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (first_step == 0 && thread_.joinable() && !stop_ && epoch == current_ + 1 && epoch < end_ && end_epoch == end_) {
      current_ = epoch;  // the thread is already reading this epoch
      return;
    }
  }
  stop();
  queue_.clear();
  done_ = stop_ = false;
  error_ = nullptr;
  current_ = epoch;
  end_ = end_epoch;
  thread_ = std::thread([this, epoch, end_epoch, first_step] { run(epoch, end_epoch, first_step); });
}

void DataLoader::run(int64_t first_epoch, int64_t end_epoch, int64_t first_step) {
  try {
    const bool pin = device_.is_cuda();
    for (int64_t epoch = first_epoch; epoch < end_epoch; ++epoch) {
      const int64_t steps = sampler_.steps_per_epoch();
      const int64_t begin = epoch == first_epoch ? std::min(first_step, steps) : 0;
      std::vector<std::vector<int64_t>> order(static_cast<size_t>(steps));
      std::vector<int64_t> flat;
      for (int64_t step = begin; step < steps; ++step) {
        order[step] = sampler_.indices(epoch, step);
        flat.insert(flat.end(), order[step].begin(), order[step].end());
      }
      dataset_.open_shards_for(flat);
      size_t hinted = 0, consumed = 0;  // readahead window over `flat`
      for (int64_t step = begin; step < steps; ++step) {
        auto idx = order[step];
        for (const size_t until = std::min(flat.size(), consumed + static_cast<size_t>(readahead_)); hinted < until;
             ++hinted)
          dataset_.will_need(flat[hinted]);
        consumed += idx.size();
        Batch b;
        b.step = step;
        b.epoch = epoch;
        b.local_count = static_cast<int64_t>(idx.size());
        b.global_count = sampler_.global_count(step);
        const int64_t rows = std::max<int64_t>(b.local_count, 1);
        auto xs = dataset_.x_shape(), ys = dataset_.y_shape();
        xs.insert(xs.begin(), rows);
        ys.insert(ys.begin(), rows);
        auto opts = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(pin);
        b.x = torch::empty(xs, opts);
        b.y = torch::empty(ys, opts);
        b.weight = torch::ones({rows}, opts);
        if (idx.empty()) {  // empty slice of the last window: a zero-weight copy of sample 0
          idx.push_back(0);
          b.weight.zero_();
        }
        for (size_t i = 0; i < idx.size(); ++i) {
          torch::Tensor xi = b.x[static_cast<int64_t>(i)], yi = b.y[static_cast<int64_t>(i)];
          dataset_.read(idx[i], xi, yi);
        }
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || queue_.size() < capacity_; });
        if (stop_) return;
        queue_.push_back(std::move(b));
        cv_.notify_all();
      }
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::current_exception();
  }
  std::lock_guard<std::mutex> lock(mu_);
  done_ = true;
  cv_.notify_all();
}

std::optional<Batch> DataLoader::next() {
  auto t0 = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || done_ || error_; });
  if (queue_.empty()) {
    if (error_) std::rethrow_exception(error_);
    return std::nullopt;
  }
  if (queue_.front().epoch != current_) return std::nullopt;  // the thread has moved on to the next epoch
  Batch b = std::move(queue_.front());
  queue_.pop_front();
  cv_.notify_all();
  lock.unlock();
  b.wait_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!device_.is_cpu()) {
    b.x = b.x.to(device_, /*non_blocking=*/true);
    b.y = b.y.to(device_, /*non_blocking=*/true);
    b.weight = b.weight.to(device_, /*non_blocking=*/true);
  }
  return b;
}

}  // namespace fourmi::data
