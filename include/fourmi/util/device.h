// device.h — small device helpers shared by training, profiling and benchmarks.
#pragma once

#include <torch/types.h>

namespace fourmi::util {

// Waits for the work queued on `device` (a no-op on the CPU, where ops run synchronously).
void synchronize(torch::Device device);

}  // namespace fourmi::util
