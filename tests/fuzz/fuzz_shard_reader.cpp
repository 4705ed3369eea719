// fuzz_shard_reader.cpp — libFuzzer harness of the HDF5 shard reader.
// Input: a shard file's bytes. The reader opens it, checks /x and /y, and reads the first samples
// (at sub 1 and 2). Accepted outcomes: samples, or a std::runtime_error naming the file.
#include <sys/stat.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "fourmi/data/shard_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/dev/shm/fourmi-fuzz-shard-" + std::to_string(::getpid()) + ".h5";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    fourmi::data::ShardReader reader(path);
    for (const char* field : {"x", "y"}) {
      std::vector<int64_t> shape = reader.shape(field);
      int64_t numel = 1;  // the reader bounds a sample at 2^34 values, so this cannot overflow
      for (int64_t s : shape) numel *= s;
      if (numel > (int64_t{1} << 16)) continue;  // a legal but large sample: slow to fuzz, read elsewhere
      for (int sub : {1, 2}) {
        torch::Tensor out = torch::empty(fourmi::data::subsampled_shape(shape, sub));
        for (int64_t i = 0; i < std::min<int64_t>(reader.num_samples(), 2); ++i) reader.read(field, i, sub, out);
      }
    }
  } catch (const std::runtime_error&) {
  }
  return 0;
}
