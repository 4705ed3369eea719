// data/import.h and data/source_array.h: MATLAB files (v5 and v7.3, written with matio's own
// writer), HDF5 and .npy arrays mapped onto fourmi samples, time windows, and the refusals.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <torch/torch.h>

#include <fstream>
#include <string>
#include <vector>

#ifdef FOURMI_HAVE_MATIO
#include <matio.h>
#endif

#include "../test_util.h"
#include "fourmi/data/import.h"
#include "fourmi/data/source_array.h"

using namespace fourmi::data;
using fourmi::testing::error_of;

namespace {

// Value of element (n, a, b) of the test arrays: distinct everywhere.
float value(int64_t n, int64_t a, int64_t b) { return static_cast<float>(1000 * n + 10 * a + b); }

fourmi::config::ImportFieldConfig field(const std::string& name, const std::string& axes, std::vector<int> time = {},
                                        const std::string& time_as = "channels") {
  fourmi::config::ImportFieldConfig f;
  f.name = name;
  f.axes = axes;
  f.time = std::move(time);
  f.time_as = time_as;
  return f;
}

// An HDF5 file with /w [N, A, B] float64 (C order).
void write_hdf5(const std::string& path, int64_t N, int64_t A, int64_t B) {
  std::vector<double> data;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t a = 0; a < A; ++a)
      for (int64_t b = 0; b < B; ++b) data.push_back(value(n, a, b));
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t dims[3] = {static_cast<hsize_t>(N), static_cast<hsize_t>(A), static_cast<hsize_t>(B)};
  hid_t space = H5Screate_simple(3, dims, nullptr);
  hid_t ds = H5Dcreate2(f, "w", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(f);
}

}  // namespace

TEST(ImportField, Hdf5AxesAndTimeWindowAsChannelsOrSpace) {
  fourmi::testing::TempDir dir;
  write_hdf5(dir / "s.h5", 4, 6, 5);  // read as n, x, t: 6 points, 5 snapshots
  ImportField channels(field("w", "nxt", {1, -1}), open_source_array("hdf5", dir / "s.h5", "w"), "x");
  EXPECT_EQ(channels.num_samples(), 4);
  EXPECT_EQ(channels.sample_shape(), (std::vector<int64_t>{3, 6}));  // snapshots 1..3 as channels
  torch::Tensor s = channels.read(2);
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t x = 0; x < 6; ++x) EXPECT_EQ(s[t][x].item<float>(), value(2, x, t + 1));
  ImportField space(field("w", "nxt", {}, "space"), open_source_array("hdf5", dir / "s.h5", "w"), "y");
  EXPECT_EQ(space.sample_shape(), (std::vector<int64_t>{1, 6, 5}));
  EXPECT_EQ(space.read(3)[0][4][2].item<float>(), value(3, 4, 2));
  ImportField last(field("w", "ntx", {-1, 0}), open_source_array("hdf5", dir / "s.h5", "w"), "y");
  EXPECT_EQ(last.sample_shape(), (std::vector<int64_t>{1, 5}));  // t is the 6-long axis here
  EXPECT_EQ(last.read(1)[0][3].item<float>(), value(1, 5, 3));
}

TEST(ImportField, RepeatAddsAConstantLastDimension) {
  fourmi::testing::TempDir dir;
  write_hdf5(dir / "s.h5", 4, 6, 5);  // n, x, t
  auto spec = field("w", "nxt", {0, 2});
  spec.repeat = 3;  // the FNO paper's FNO-3D input: the first snapshots, constant along the predicted times
  ImportField f(spec, open_source_array("hdf5", dir / "s.h5", "w"), "x");
  EXPECT_EQ(f.sample_shape(), (std::vector<int64_t>{2, 6, 3}));
  torch::Tensor s = f.read(1);
  for (int64_t r = 0; r < 3; ++r) {
    EXPECT_EQ(s[0][4][r].item<float>(), value(1, 4, 0));
    EXPECT_EQ(s[1][4][r].item<float>(), value(1, 4, 1));
  }
}

TEST(ImportField, RefusalsNameTheArrayAndTheKey) {
  fourmi::testing::TempDir dir;
  write_hdf5(dir / "s.h5", 4, 6, 5);
  auto open = [&] { return open_source_array("hdf5", dir / "s.h5", "w"); };
  EXPECT_NE(error_of([&] {
              ImportField f(field("w", "nx"), open(), "x");
            }).find("import.x.axes 'nx' names 2 axes but the array has 3"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              ImportField f(field("w", "nxt", {2, 9}), open(), "y");
            }).find("import.y.time [2,9] selects snapshots [2, 9) of a t axis of 5"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ImportField f(field("w", "nxy", {0}), open(), "x"); }).find("has no t axis"),
            std::string::npos);
  EXPECT_NE(error_of([&] { open_source_array("hdf5", dir / "s.h5", "v"); }).find("no dataset 'v'"), std::string::npos);
  EXPECT_NE(error_of([&] { open_source_array("hdf5", dir / "none.h5", "w"); }).find("none.h5: cannot open as HDF5"),
            std::string::npos);
}

TEST(SourceArray, NpyCAndFortranOrder) {
  fourmi::testing::TempDir dir;
  // [2, 3] float32 C order, and the same logical array Fortran-ordered as float64.
  auto write = [&](const std::string& name, const std::string& descr, bool fortran, const std::string& bytes) {
    std::string header =
        "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (2, 3), }";
    header.append(64 - (10 + header.size() + 1) % 64, ' ');
    header += '\n';
    std::ofstream out(dir / name, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    const uint16_t n = static_cast<uint16_t>(header.size());
    out.write(reinterpret_cast<const char*>(&n), 2);
    out << header << bytes;
  };
  const float c[6] = {0, 1, 2, 10, 11, 12};
  const double f[6] = {0, 10, 1, 11, 2, 12};  // column-major of the same [[0,1,2],[10,11,12]]
  write("c.npy", "<f4", false, std::string(reinterpret_cast<const char*>(c), sizeof(c)));
  write("f.npy", "<f8", true, std::string(reinterpret_cast<const char*>(f), sizeof(f)));
  for (const char* name : {"c.npy", "f.npy"}) {
    auto a = open_source_array("npy", dir.str(), name);
    EXPECT_EQ(a->shape(), (std::vector<int64_t>{2, 3})) << name;
    float row[3], col[2];
    a->read_slab(0, 1, row);
    EXPECT_EQ(row[2], 12.f) << name;
    a->read_slab(1, 2, col);
    EXPECT_EQ(col[0], 2.f) << name;
    EXPECT_EQ(col[1], 12.f) << name;
  }
  write("big.npy", ">f4", false, std::string(24, '\0'));
  EXPECT_NE(error_of([&] { open_source_array("npy", dir.str(), "big.npy"); }).find("big-endian"), std::string::npos);
  write("short.npy", "<f8", false, std::string(8, '\0'));
  EXPECT_NE(error_of([&] { open_source_array("npy", dir.str(), "short.npy"); }).find("more data than the file holds"),
            std::string::npos);
}

#ifdef FOURMI_HAVE_MATIO
namespace {
// A MATLAB file holding `name` [N, A, B] double (column-major, as MATLAB stores it), with matio's writer.
void write_mat(const std::string& path, mat_ft version, const char* name, size_t N, size_t A, size_t B) {
  std::vector<double> data(N * A * B);
  for (size_t n = 0; n < N; ++n)
    for (size_t a = 0; a < A; ++a)
      for (size_t b = 0; b < B; ++b) data[n + N * (a + A * b)] = value(n, a, b);
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, version);
  ASSERT_NE(mat, nullptr);
  size_t dims[3] = {N, A, B};
  matvar_t* var = Mat_VarCreate(name, MAT_C_DOUBLE, MAT_T_DOUBLE, 3, dims, data.data(), 0);
  ASSERT_EQ(Mat_VarWrite(mat, var, version == MAT_FT_MAT5 ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE), 0);
  Mat_VarFree(var);
  Mat_Close(mat);
}
}  // namespace

TEST(SourceArray, MatlabV5AndV73InMatlabsAxisOrder) {
  fourmi::testing::TempDir dir;
  for (auto [version, file] : {std::pair<mat_ft, const char*>{MAT_FT_MAT5, "a5.mat"}, {MAT_FT_MAT73, "a73.mat"}}) {
    write_mat(dir / file, version, "coeff", 5, 7, 6);
    ImportField f(field("coeff", "nxy"), open_source_array("mat", dir / file, "coeff"), "x");
    EXPECT_EQ(f.num_samples(), 5) << file;
    EXPECT_EQ(f.sample_shape(), (std::vector<int64_t>{1, 7, 6})) << file;
    torch::Tensor s = f.read(3);
    EXPECT_EQ(s[0][4][5].item<float>(), value(3, 4, 5)) << file;
    EXPECT_EQ(s[0][6][0].item<float>(), value(3, 6, 0)) << file;
    const std::string path = dir / file;  // a local, not the structured binding, in the lambda
    const std::string err = error_of([&] { open_source_array("mat", path, "sol"); });
    EXPECT_NE(err.find("no variable 'sol'; the file holds: coeff"), std::string::npos) << err;
  }
}
#endif
