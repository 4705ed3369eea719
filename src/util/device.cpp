#include "fourmi/util/device.h"

#include <torch/cuda.h>

namespace fourmi::util {

void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

}  // namespace fourmi::util
