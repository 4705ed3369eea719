// fuzz_checkpoint.cpp — libFuzzer harness of the checkpoint loader (safetensors layout).
// Input: a checkpoint file's bytes. The loader reads its position and config, then loads it into a
// small FNO with its Adam state. Accepted outcomes: a load, or a std::runtime_error naming the
// file; anything else (another exception, a crash, a sanitizer report) is a finding.
#include <torch/torch.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "fourmi/config/config.h"
#include "fourmi/models/fno.h"
#include "fourmi/train/checkpoint.h"
#include "fourmi/train/fused_adam.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/dev/shm/fourmi-fuzz-ckpt-" + std::to_string(::getpid()) + ".safetensors";
  static fourmi::models::FNO model = [] {
    fourmi::config::ModelConfig m;
    m.width = 4, m.modes = {2}, m.layers = 1, m.projection_width = 4;
    return fourmi::models::FNO(m);
  }();
  static auto optimizer = fourmi::train::make_optimizer(fourmi::config::TrainConfig{}, model->parameters());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    fourmi::train::read_checkpoint_meta(path);
    fourmi::train::load_checkpoint(path, *model, optimizer.get());
  } catch (const std::runtime_error&) {
  }
  return 0;
}
