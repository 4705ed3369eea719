// Stored levels (datagen.levels): coarser copies written beside the full resolution, read in its
// place when data.sub is a multiple of the level's sub, giving exactly the same samples.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <torch/torch.h>

#include <filesystem>

#include "../dataset_util.h"
#include "../test_util.h"
#include "fourmi/data/dataset.h"
#include "fourmi/util/fs.h"

using namespace fourmi::data;
using torch::indexing::Slice;

namespace {

// A 2-D field, so that levels subsample both spatial dimensions.
Manifest header(int64_t n) { return fourmi::testing::toy_header("toy-train", n, {2, 6, 24}, {1, 6, 24}); }

std::pair<torch::Tensor, torch::Tensor> write_levels(const std::string& dir, int64_t n, int shards,
                                                     std::vector<int> levels) {
  torch::Tensor x = torch::randn({n, 2, 6, 24});
  torch::Tensor y = torch::randn({n, 1, 6, 24});
  fourmi::testing::write_in_two_appends(dir, header(n), x, y, shards, levels);
  return {x, y};
}

}  // namespace

TEST(StoredLevels, WrittenAsCompleteDatasetsWithTheParentsStatistics) {
  fourmi::testing::TempDir tmp;
  write_levels(tmp / "toy", 7, 2, {2, 3});
  Manifest m = Manifest::load(tmp / "toy");
  ASSERT_EQ(m.levels.size(), 2u);
  EXPECT_EQ(m.levels[0].sub, 2);
  EXPECT_EQ(m.levels[1].dir, "sub3");
  Manifest l3 = Manifest::load(tmp / "toy/sub3");
  EXPECT_EQ(l3.stored_sub, 3);
  EXPECT_EQ(l3.num_samples, 7);
  EXPECT_EQ(l3.x_shape, (std::vector<int64_t>{2, 2, 8}));
  EXPECT_EQ(l3.shards.size(), 2u);
  EXPECT_EQ(l3.shards[1].file, "toy-train-sub3-00001-of-00002.h5");
  EXPECT_EQ(l3.x_stats.mean, m.x_stats.mean);  // normalised like the full resolution
  EXPECT_EQ(l3.y_stats.std, m.y_stats.std);
  EXPECT_TRUE(l3.levels.empty());
}

TEST(StoredLevels, ReadGivesTheSamePointsAsSubsamplingTheFullResolution) {
  fourmi::testing::TempDir tmp;
  auto [x, y] = write_levels(tmp / "toy", 9, 3, {2, 4});
  for (int sub : {1, 2, 3, 4, 8, 12}) {
    Dataset via_level(tmp / "toy", sub, true);
    Dataset full(tmp / "toy", sub, true, 0, /*use_levels=*/false);
    const int expect_level = sub % 4 == 0 ? 4 : sub % 2 == 0 ? 2 : 1;  // the coarsest level dividing sub
    EXPECT_EQ(via_level.stored_sub(), expect_level) << "sub " << sub;
    EXPECT_EQ(full.stored_sub(), 1);
    EXPECT_EQ(via_level.x_shape(), full.x_shape()) << "sub " << sub;
    auto [lx, ly] = via_level.read_all();
    auto [fx, fy] = full.read_all();
    auto expected_x = x.index({Slice(), Slice(), Slice(0, c10::nullopt, sub), Slice(0, c10::nullopt, sub)});
    EXPECT_TRUE(torch::equal(lx, expected_x)) << "sub " << sub;
    EXPECT_TRUE(torch::equal(fx, expected_x)) << "sub " << sub;
    EXPECT_TRUE(torch::equal(ly, fy)) << "sub " << sub;
  }
}

TEST(StoredLevels, LevelThatDoesNotMatchItsParentIsNamed) {
  fourmi::testing::TempDir tmp;
  write_levels(tmp / "toy", 5, 1, {2});
  auto path = tmp / "toy/sub2/manifest.json";
  auto j = nlohmann::json::parse(fourmi::util::read_text(path));
  j["num_samples"] = 4;
  j["shards"][0]["num_samples"] = 4;
  fourmi::util::atomic_write_text(path, j.dump());
  std::string e = fourmi::testing::error_reading_dataset(tmp / "toy", 4);
  EXPECT_NE(e.find("sub2/manifest.json: stored level (sub 2) does not match"), std::string::npos) << e;
  EXPECT_NE(e.find("data.stored_levels: false"), std::string::npos) << e;
  EXPECT_EQ(fourmi::testing::error_reading_dataset(tmp / "toy", 3), "");  // sub 3 does not use the level
}

TEST(StoredLevels, CorruptedLevelShardIsNamed) {
  fourmi::testing::TempDir tmp;
  write_levels(tmp / "toy", 5, 1, {2});
  std::string shard = tmp / "toy/sub2/toy-train-sub2-00000-of-00001.h5";
  fourmi::util::atomic_write_text(shard, fourmi::util::read_text(shard).substr(0, 1000));
  std::string e = fourmi::testing::error_reading_dataset(tmp / "toy", 2);
  EXPECT_NE(e.find(shard + ": checksum mismatch"), std::string::npos) << e;
  EXPECT_EQ(fourmi::testing::error_reading_dataset(tmp / "toy", 1), "");  // the full resolution is intact
}

TEST(StoredLevels, LevelLeavingFewerThanTwoPointsIsRejected) {
  fourmi::testing::TempDir tmp;
  try {
    DatasetWriter w(tmp / "toy", header(4), 1, {4});  // 6 points / 4 -> 2 points: accepted
    DatasetWriter w2(tmp / "toy2", header(4), 1, {6});
    FAIL() << "level 6 of 6 points accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("datagen.levels: sub 6 leaves 1 point(s) of the 6"), std::string::npos)
        << e.what();
  }
}

// Shards whose chunks are filtered (here deflate, as h5repack -f GZIP would leave them) are not
// read chunk by chunk but through HDF5's filter pipeline, with the same values.
TEST(StoredLevels, FilteredShardReadThroughTheFilterPipeline) {
  fourmi::testing::TempDir tmp;
  auto [x, y] = write_levels(tmp / "toy", 4, 1, {});
  std::string shard = tmp / "toy/toy-train-00000-of-00001.h5";
  hid_t f = H5Fcreate(shard.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  for (auto [name, t] : {std::pair<const char*, torch::Tensor>{"x", x}, {"y", y}}) {
    std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end()), chunk = dims;
    chunk[0] = 1;
    hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(plist, static_cast<int>(chunk.size()), chunk.data());
    H5Pset_deflate(plist, 4);
    hid_t ds = H5Dcreate2(f, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, plist, H5P_DEFAULT);
    torch::Tensor c = t.contiguous();
    ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, c.data_ptr<float>()), 0);
    H5Dclose(ds), H5Pclose(plist), H5Sclose(space);
  }
  H5Fclose(f);
  auto j = nlohmann::json::parse(fourmi::util::read_text(tmp / "toy/manifest.json"));
  j["shards"][0]["crc32"] = fourmi::util::file_crc32(shard);
  fourmi::util::atomic_write_text(tmp / "toy/manifest.json", j.dump());
  auto [rx, ry] = Dataset(tmp / "toy", 2, true).read_all();
  EXPECT_TRUE(torch::equal(rx, x.index({Slice(), Slice(), Slice(0, c10::nullopt, 2), Slice(0, c10::nullopt, 2)})));
  EXPECT_TRUE(torch::equal(ry, y.index({Slice(), Slice(), Slice(0, c10::nullopt, 2), Slice(0, c10::nullopt, 2)})));
}
