// DataLoader: batches in the sampler's order, epoch after epoch, with the reader thread running
// on across epoch boundaries; parallel checksums name the corrupted shard.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "../dataset_util.h"
#include "../test_util.h"
#include "fourmi/data/dataset.h"
#include "fourmi/data/loader.h"
#include "fourmi/util/fs.h"

using namespace fourmi::data;

namespace {

std::vector<int64_t> ids(const Batch& b) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < b.local_count; ++i) out.push_back(static_cast<int64_t>(b.x[i][0][0].item<float>()));
  return out;
}

}  // namespace

TEST(DataLoader, RunsOnAcrossEpochsInTheSamplersOrder) {
  fourmi::testing::TempDir tmp;
  fourmi::testing::write_indexed_dataset(tmp / "d", "idx-train", 23, 4, {1, 8}, {1, 8});
  Dataset ds(tmp / "d", 1, true);
  Sampler reference(23, 5, 0, 1, 7, true);
  DataLoader loader(ds, Sampler(23, 5, 0, 1, 7, true), torch::kCPU, /*prefetch=*/2, /*readahead_samples=*/3);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    loader.start_epoch(epoch, 3);
    int64_t step = 0;
    while (auto b = loader.next()) {
      EXPECT_EQ(b->epoch, epoch);
      EXPECT_EQ(b->step, step);
      EXPECT_EQ(ids(*b), reference.indices(epoch, step)) << "epoch " << epoch << " step " << step;
      EXPECT_TRUE(torch::equal(b->y, -b->x - 1));
      ++step;
    }
    EXPECT_EQ(step, reference.steps_per_epoch()) << "epoch " << epoch;
  }
  // Asking for an epoch out of sequence restarts the reader at that epoch.
  loader.start_epoch(1);
  auto b = loader.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->epoch, 1);
  EXPECT_EQ(ids(*b), reference.indices(1, 0));
}

TEST(DataLoader, ErrorInTheReaderThreadReachesTheCaller) {
  fourmi::testing::TempDir tmp;
  fourmi::testing::write_indexed_dataset(tmp / "d", "idx-train", 12, 3, {1, 8}, {1, 8});
  {
    std::fstream f(tmp / "d/idx-train-00002-of-00003.h5", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-8, std::ios::end);
    f.write("garbage!", 8);
  }
  Dataset ds(tmp / "d", 1, true);
  DataLoader loader(ds, Sampler(12, 4, 0, 1, 1, true), torch::kCPU, 2);
  loader.start_epoch(0);
  try {
    while (loader.next()) {
    }
    FAIL() << "expected a checksum error";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("idx-train-00002-of-00003.h5: checksum mismatch"), std::string::npos) << msg;
  }
}

TEST(FileChecksums, ParallelMatchesOneByOneAndNamesTheMissingFile) {
  fourmi::testing::TempDir tmp;
  std::vector<std::string> paths;
  for (int k = 0; k < 5; ++k) {
    paths.push_back(tmp / ("f" + std::to_string(k)));
    std::ofstream(paths.back(), std::ios::binary)
        << std::string(static_cast<size_t>(100000 * k + 17), static_cast<char>('a' + k));
  }
  auto parallel = fourmi::util::files_crc32(paths, 3);
  ASSERT_EQ(parallel.size(), paths.size());
  for (size_t k = 0; k < paths.size(); ++k) EXPECT_EQ(parallel[k], fourmi::util::file_crc32(paths[k]));
  EXPECT_NE(parallel[1], parallel[2]);
  // zlib's CRC-32 of "123456789" is the standard check value cbf43926.
  std::string check = tmp / "check";
  std::ofstream(check, std::ios::binary) << "123456789";
  EXPECT_EQ(fourmi::util::file_crc32(check), "cbf43926");
  paths.push_back(tmp / "absent");
  try {
    fourmi::util::files_crc32(paths, 4);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("absent: cannot open to checksum"), std::string::npos) << e.what();
  }
}
