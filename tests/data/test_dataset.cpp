// Sharded HDF5 datasets: round trip, subsampling, and a clear error for each kind of bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "../dataset_util.h"
#include "../test_util.h"
#include "fourmi/data/dataset.h"
#include "fourmi/data/shard_file.h"
#include "fourmi/util/fs.h"

using namespace fourmi::data;

namespace {

Manifest header(int64_t n) { return fourmi::testing::toy_header("toy-train", n, {2, 12}, {1, 12}); }

std::pair<torch::Tensor, torch::Tensor> write_toy(const std::string& dir, int64_t n, int shards) {
  torch::Tensor x = torch::arange(n * 2 * 12, torch::kFloat32).reshape({n, 2, 12});
  torch::Tensor y = -torch::arange(n * 12, torch::kFloat32).reshape({n, 1, 12});
  fourmi::testing::write_in_two_appends(dir, header(n), x, y, shards);
  return {x, y};
}

}  // namespace

TEST(Dataset, RoundTripAcrossShards) {
  fourmi::testing::TempDir tmp;
  auto [x, y] = write_toy(tmp / "toy", 10, 3);
  Dataset ds(tmp / "toy", 1, true);
  EXPECT_EQ(ds.size(), 10);
  EXPECT_EQ(ds.manifest().shards.size(), 3u);
  EXPECT_EQ(ds.manifest().shards[0].file, "toy-train-00000-of-00003.h5");
  auto [rx, ry] = ds.read_all();
  EXPECT_TRUE(torch::equal(rx, x));
  EXPECT_TRUE(torch::equal(ry, y));
}

TEST(Dataset, SubsamplesAtReadTime) {
  fourmi::testing::TempDir tmp;
  auto [x, y] = write_toy(tmp / "toy", 5, 1);
  Dataset ds(tmp / "toy", 4, true);
  EXPECT_EQ(ds.x_shape(), (std::vector<int64_t>{2, 3}));
  auto [rx, ry] = ds.read_all();
  using torch::indexing::Slice;
  EXPECT_TRUE(torch::equal(rx, x.index({Slice(), Slice(), Slice(0, 12, 4)})));
}

TEST(Dataset, NormalisationStatisticsInManifest) {
  fourmi::testing::TempDir tmp;
  auto [x, y] = write_toy(tmp / "toy", 6, 2);
  Manifest m = Manifest::load(tmp / "toy");
  ASSERT_EQ(m.x_stats.mean.size(), 2u);
  EXPECT_NEAR(m.x_stats.mean[0], x.select(1, 0).mean().item<double>(), 1e-6);
  EXPECT_NEAR(m.y_stats.std[0], y.std(/*unbiased=*/false).item<double>(), 1e-4);
}

TEST(Dataset, MissingManifest) {
  fourmi::testing::TempDir tmp;
  std::string e = fourmi::testing::error_reading_dataset(tmp / "nothing");
  EXPECT_NE(e.find("manifest.json"), std::string::npos) << e;
  EXPECT_NE(e.find("fourmi datagen"), std::string::npos) << e;
}

TEST(Dataset, MissingShard) {
  fourmi::testing::TempDir tmp;
  write_toy(tmp / "toy", 6, 2);
  std::filesystem::remove(tmp / "toy/toy-train-00001-of-00002.h5");
  std::string e = fourmi::testing::error_reading_dataset(tmp / "toy");
  EXPECT_NE(e.find("toy-train-00001-of-00002.h5"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;
}

TEST(Dataset, ChecksumMismatch) {
  fourmi::testing::TempDir tmp;
  write_toy(tmp / "toy", 6, 2);
  std::string shard = tmp / "toy/toy-train-00000-of-00002.h5";
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-8, std::ios::end);
    f.write("garbage!", 8);
  }
  std::string e = fourmi::testing::error_reading_dataset(tmp / "toy");
  EXPECT_NE(e.find("checksum mismatch"), std::string::npos) << e;
  EXPECT_NE(e.find("toy-train-00000-of-00002.h5"), std::string::npos) << e;
}

TEST(Dataset, TruncatedShard) {
  fourmi::testing::TempDir tmp;
  write_toy(tmp / "toy", 6, 1);
  std::string shard = tmp / "toy/toy-train-00000-of-00001.h5";
  std::filesystem::resize_file(shard, std::filesystem::file_size(shard) / 2);
  try {
    Dataset ds(tmp / "toy", 1, /*verify_checksums=*/false);
    ds.read_all();
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("toy-train-00000-of-00001.h5"), std::string::npos) << e.what();
  }
}

TEST(Dataset, NaNSampleNamed) {
  fourmi::testing::TempDir tmp;
  torch::Tensor x = torch::zeros({4, 2, 12});
  x[2][1][5] = std::numeric_limits<float>::quiet_NaN();
  DatasetWriter w(tmp / "toy", header(4), 1);
  w.append(x, torch::ones({4, 1, 12}));
  w.finish();
  std::string e = fourmi::testing::error_reading_dataset(tmp / "toy");
  EXPECT_NE(e.find("sample 2"), std::string::npos) << e;
  EXPECT_NE(e.find("NaN or Inf"), std::string::npos) << e;
  EXPECT_NE(e.find("/x"), std::string::npos) << e;
}

TEST(Dataset, ManifestVersionAndShapeChecked) {
  fourmi::testing::TempDir tmp;
  write_toy(tmp / "toy", 6, 2);
  auto j = nlohmann::json::parse(fourmi::util::read_text(tmp / "toy/manifest.json"));
  j["fields"]["x"]["shape"] = {2, 24};
  fourmi::util::atomic_write_text(tmp / "toy/manifest.json", j.dump());
  std::string e = fourmi::testing::error_reading_dataset(tmp / "toy");
  EXPECT_NE(e.find("differ from manifest.json"), std::string::npos) << e;
  j["version"] = 99;
  fourmi::util::atomic_write_text(tmp / "toy/manifest.json", j.dump());
  e = fourmi::testing::error_reading_dataset(tmp / "toy");
  EXPECT_NE(e.find("version 99"), std::string::npos) << e;
}

TEST(Dataset, AllZeroTargetRefusedNamingTheSample) {
  fourmi::testing::TempDir tmp;
  torch::Tensor y = torch::ones({4, 1, 12});
  y[3].zero_();
  DatasetWriter w(tmp / "toy", header(4), 1);
  w.append(torch::ones({4, 2, 12}), y);
  w.finish();
  std::string e = fourmi::testing::error_reading_dataset(tmp / "toy");
  EXPECT_NE(e.find("/y sample 3"), std::string::npos) << e;
  EXPECT_NE(e.find("zero everywhere"), std::string::npos) << e;
}

TEST(Dataset, ManifestNumberOutOfRangeNamed) {  // found by tests/fuzz/fuzz_manifest.cpp
  fourmi::testing::TempDir tmp;
  write_toy(tmp / "toy", 6, 2);
  std::string text = fourmi::util::read_text(tmp / "toy/manifest.json");
  text.replace(text.find("\"num_samples\": 6"), 16, "\"num_samples\": 1E99999");
  fourmi::util::atomic_write_text(tmp / "toy/manifest.json", text);
  std::string e = fourmi::testing::error_reading_dataset(tmp / "toy");
  EXPECT_NE(e.find("manifest.json: manifest is not valid JSON"), std::string::npos) << e;
}

TEST(ShardReader, RefusedFileIsClosedAgain) {  // found by tests/fuzz/fuzz_shard_reader.cpp
  fourmi::testing::TempDir tmp;
  const std::string path = tmp / "only-x.h5";
  {
    hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[3] = {2, 1, 8};
    hid_t space = H5Screate_simple(3, dims, nullptr);
    hid_t ds = H5Dcreate2(f, "x", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    H5Sclose(space);
    H5Fclose(f);
  }
  auto open_descriptors = [] {
    int n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  const int before = open_descriptors();
  for (int i = 0; i < 20; ++i) {
    try {
      fourmi::data::ShardReader reader(path);
      ADD_FAILURE() << "a shard without /y was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("missing dataset /y"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(open_descriptors(), before);
  EXPECT_EQ(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
}

TEST(ShardReader, AbsurdSampleShapeRefused) {  // found by tests/fuzz/fuzz_shard_reader.cpp
  fourmi::testing::TempDir tmp;
  const std::string path = tmp / "huge.h5";
  {
    hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[3] = {1, 1u << 20, 1u << 20};  // 2^40 values per sample: nothing stored, all fill value
    hid_t space = H5Screate_simple(3, dims, nullptr);
    hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t chunk[3] = {1, 1, 1024};
    H5Pset_chunk(plist, 3, chunk);
    for (const char* name : {"x", "y"})
      H5Dclose(H5Dcreate2(f, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, plist, H5P_DEFAULT));
    H5Pclose(plist);
    H5Sclose(space);
    H5Fclose(f);
  }
  try {
    fourmi::data::ShardReader reader(path);
    ADD_FAILURE() << "a sample of 2^40 values was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("at most 2^34 values per sample"), std::string::npos) << e.what();
  }
}
