// SampleArraysWriter: arrays of three dtypes written in blocks read back with the HDF5 C API; an
// abandoned writer leaves no file.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "../test_util.h"
#include "fourmi/data/sample_arrays.h"

using fourmi::data::SampleArraysWriter;

namespace {
template <class T>
std::vector<T> read_all(hid_t file, const char* name, hid_t type, size_t n) {
  std::vector<T> out(n);
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  EXPECT_GE(ds, 0) << name;
  EXPECT_GE(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), 0) << name;
  H5Dclose(ds);
  return out;
}
}  // namespace

TEST(SampleArraysWriter, BlocksOfEachDtypeReadBack) {
  fourmi::testing::TempDir dir;
  const std::string path = dir / "p.h5";
  {
    SampleArraysWriter w(
        path, 5,
        {{"prediction", {2, 3}, torch::kFloat32}, {"rel_l2", {}, torch::kFloat64}, {"sample", {}, torch::kInt64}});
    torch::Tensor pred = torch::arange(30, torch::kFloat32).view({5, 2, 3});
    w.write(0, 0, pred.narrow(0, 0, 2));
    w.write(0, 2, pred.narrow(0, 2, 3));
    w.write(1, 0, torch::tensor({0.5, 0.25, 0.125, 1.0, 2.0}, torch::kFloat64));
    w.write(2, 0, torch::arange(10, 15, torch::kInt64));
    w.set_attribute("checkpoint", "runs/x/ckpt-000001.safetensors");
    EXPECT_FALSE(std::filesystem::exists(path));  // only the temporary until close()
    w.close();
  }
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  auto pred = read_all<float>(f, "prediction", H5T_NATIVE_FLOAT, 30);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(pred[i], static_cast<float>(i));
  EXPECT_EQ(read_all<double>(f, "rel_l2", H5T_NATIVE_DOUBLE, 5)[2], 0.125);
  EXPECT_EQ(read_all<int64_t>(f, "sample", H5T_NATIVE_INT64, 5)[4], 14);
  hid_t attr = H5Aopen(f, "checkpoint", H5P_DEFAULT);
  ASSERT_GE(attr, 0);
  hid_t type = H5Aget_type(attr);
  std::string value(H5Tget_size(type), '\0');
  H5Aread(attr, type, value.data());
  EXPECT_STREQ(value.c_str(), "runs/x/ckpt-000001.safetensors");
  H5Tclose(type);
  H5Aclose(attr);
  H5Fclose(f);
}

TEST(SampleArraysWriter, AbandonedWriterLeavesNoFile) {
  fourmi::testing::TempDir dir;
  const std::string path = dir / "p.h5";
  {
    SampleArraysWriter w(path, 3, {{"prediction", {4}, torch::kFloat32}});
    w.write(0, 0, torch::ones({1, 4}));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(SampleArraysWriter, BlockOutsideTheArrayRefused) {
  fourmi::testing::TempDir dir;
  SampleArraysWriter w(dir / "p.h5", 3, {{"prediction", {4}, torch::kFloat32}});
  EXPECT_THROW(w.write(0, 2, torch::ones({2, 4})), std::logic_error);
}
