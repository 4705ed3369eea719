#include "fourmi/profile/step_clock.h"

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

#ifdef FOURMI_HAVE_NCCL
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#define FOURMI_PROFILE_CUDA 1
#endif

namespace fourmi::profile {

double steady_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

StepClock::StepClock(torch::Device device) : device_(device) {
#ifndef FOURMI_PROFILE_CUDA
  if (device.is_cuda()) throw std::runtime_error("profiling on a GPU needs a fourmi built with CUDA");
#endif
}

StepClock::~StepClock() {
#ifdef FOURMI_PROFILE_CUDA
  for (void* e : events_) cudaEventDestroy(static_cast<cudaEvent_t>(e));
#endif
}

void StepClock::reserve(size_t free_marks) {
#ifdef FOURMI_PROFILE_CUDA
  if (!device_.is_cuda()) return;
  std::lock_guard<std::mutex> lock(mu_);
  c10::cuda::CUDAGuard guard(device_.index());
  while (events_.size() < used_ + free_marks) {
    cudaEvent_t e;
    if (cudaEventCreate(&e) != cudaSuccess) throw std::runtime_error("profile: cudaEventCreate failed");
    events_.push_back(e);
  }
#else
  (void)free_marks;
#endif
}

int StepClock::mark() {
  std::lock_guard<std::mutex> lock(mu_);
  synced_ = false;
#ifdef FOURMI_PROFILE_CUDA
  if (device_.is_cuda()) {
    if (used_ == events_.size()) {
      c10::cuda::CUDAGuard guard(device_.index());
      cudaEvent_t e;
      if (cudaEventCreate(&e) != cudaSuccess) throw std::runtime_error("profile: cudaEventCreate failed");
      events_.push_back(e);
    }
    cudaEventRecord(static_cast<cudaEvent_t>(events_[used_]),
                    c10::cuda::getCurrentCUDAStream(device_.index()).stream());
    return static_cast<int>(used_++);
  }
#endif
  host_ms_.push_back(steady_ms());
  return static_cast<int>(used_++);
}

void StepClock::synchronize() {
#ifdef FOURMI_PROFILE_CUDA
  if (device_.is_cuda() && !synced_) {
    c10::cuda::CUDAGuard guard(device_.index());
    cudaDeviceSynchronize();
  }
#endif
  synced_ = true;
}

double StepClock::elapsed_ms(int origin, int id) {
  if (origin < 0 || id < 0 || static_cast<size_t>(std::max(origin, id)) >= used_)
    throw std::out_of_range(fmt::format("profile: mark {} or {} was never recorded", origin, id));
#ifdef FOURMI_PROFILE_CUDA
  if (device_.is_cuda()) {
    synchronize();
    float ms = 0;
    cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(events_[origin]), static_cast<cudaEvent_t>(events_[id]));
    return ms;
  }
#endif
  return host_ms_[id] - host_ms_[origin];
}

double StepClock::elapsed_to_event_ms(int origin, void* cuda_event) {
#ifdef FOURMI_PROFILE_CUDA
  synchronize();
  float ms = 0;
  cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(events_[origin]), static_cast<cudaEvent_t>(cuda_event));
  return ms;
#else
  throw std::logic_error("profile: CUDA event timing in a build without CUDA");
#endif
}

void StepClock::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  used_ = 0;
  host_ms_.clear();
}

}  // namespace fourmi::profile
