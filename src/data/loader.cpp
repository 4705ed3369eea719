#include "fourmi/data/loader.h"

#include <torch/torch.h>

#include <chrono>

namespace fourmi::data {

DataLoader::DataLoader(Dataset& dataset, Sampler sampler, torch::Device device, int prefetch)
    : dataset_(dataset), sampler_(std::move(sampler)), device_(device), capacity_(static_cast<size_t>(prefetch)) {}

DataLoader::~DataLoader() { stop(); }

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DataLoader::start_epoch(int64_t epoch) {
  stop();
  queue_.clear();
  done_ = stop_ = false;
  error_ = nullptr;
  thread_ = std::thread([this, epoch] { run(epoch); });
}

void DataLoader::run(int64_t epoch) {
  try {
    const bool pin = device_.is_cuda();
    for (int64_t step = 0; step < sampler_.steps_per_epoch(); ++step) {
      auto idx = sampler_.indices(epoch, step);
      Batch b;
      b.step = step;
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
