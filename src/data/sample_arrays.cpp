#include "fourmi/data/sample_arrays.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <cstdio>
#include <stdexcept>

#include "fourmi/util/fs.h"

namespace fourmi::data {
namespace {

hid_t file_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return H5T_IEEE_F32LE;
    case torch::kFloat64:
      return H5T_IEEE_F64LE;
    case torch::kInt64:
      return H5T_STD_I64LE;
    default:
      throw std::invalid_argument("SampleArraysWriter: accepted dtypes are float32, float64 and int64");
  }
}

hid_t memory_type(torch::ScalarType t) {
  return t == torch::kFloat32 ? H5T_NATIVE_FLOAT : t == torch::kFloat64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64;
}

}  // namespace

SampleArraysWriter::SampleArraysWriter(std::string path, int64_t num_samples, std::vector<Array> arrays)
    : path_(std::move(path)), tmp_path_(path_ + ".tmp"), num_samples_(num_samples), arrays_(std::move(arrays)) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // failures are reported below, naming the file
  file_ = H5Fcreate(tmp_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file_ < 0) throw std::runtime_error(fmt::format("{}: cannot create HDF5 file", tmp_path_));
  for (const auto& a : arrays_) {
    std::vector<hsize_t> dims{static_cast<hsize_t>(num_samples_)};
    for (auto s : a.shape) dims.push_back(static_cast<hsize_t>(s));
    hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
    if (!a.shape.empty() && num_samples_ > 0) {
      auto chunk = dims;
      chunk[0] = 1;  // one sample per chunk
      H5Pset_chunk(plist, static_cast<int>(chunk.size()), chunk.data());
    }
    hid_t ds = H5Dcreate2(file_, a.name.c_str(), file_type(a.dtype), space, H5P_DEFAULT, plist, H5P_DEFAULT);
    H5Pclose(plist);
    H5Sclose(space);
    if (ds < 0) {
      for (hid_t d : datasets_) H5Dclose(d);
      H5Fclose(file_);
      file_ = -1;
      std::remove(tmp_path_.c_str());
      throw std::runtime_error(fmt::format("{}: cannot create dataset /{}", tmp_path_, a.name));
    }
    datasets_.push_back(ds);
  }
}

SampleArraysWriter::~SampleArraysWriter() {
  if (file_ >= 0) {  // not closed: abandoned, remove the temporary
    for (hid_t d : datasets_) H5Dclose(d);
    H5Fclose(file_);
    std::remove(tmp_path_.c_str());
  }
}

void SampleArraysWriter::write(size_t index, int64_t first, const torch::Tensor& values) {
  const Array& a = arrays_.at(index);
  torch::Tensor c = values.to(torch::kCPU, a.dtype).contiguous();
  const int rank = static_cast<int>(a.shape.size()) + 1;
  if (c.dim() != rank || first < 0 || first + c.size(0) > num_samples_)
    throw std::logic_error(fmt::format("{}: /{}: values [{}] at sample {} do not fit [{} samples, rank {}]", path_,
                                       a.name, fmt::join(c.sizes(), ","), first, num_samples_, rank));
  if (c.size(0) == 0) return;
  std::vector<hsize_t> start(rank, 0), count(rank);
  start[0] = static_cast<hsize_t>(first);
  for (int k = 0; k < rank; ++k) count[k] = static_cast<hsize_t>(c.size(k));
  hid_t fspace = H5Dget_space(datasets_[index]);
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  hid_t mspace = H5Screate_simple(rank, count.data(), nullptr);
  herr_t rc = H5Dwrite(datasets_[index], memory_type(a.dtype), mspace, fspace, H5P_DEFAULT, c.data_ptr());
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (rc < 0)
    throw std::runtime_error(
        fmt::format("{}: writing /{} samples {}..{} failed (disk full?)", tmp_path_, a.name, first, first + c.size(0)));
}

void SampleArraysWriter::set_attribute(const std::string& key, const std::string& value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, value.size() + 1);  // with the terminating NUL
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(file_, key.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = attr < 0 ? -1 : H5Awrite(attr, type, value.c_str());
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
  if (rc < 0) throw std::runtime_error(fmt::format("{}: cannot write attribute {}", tmp_path_, key));
}

void SampleArraysWriter::close() {
  for (hid_t d : datasets_) H5Dclose(d);
  datasets_.clear();
  herr_t rc = H5Fclose(file_);
  file_ = -1;
  if (rc < 0) {
    std::remove(tmp_path_.c_str());
    throw std::runtime_error(fmt::format("{}: closing the HDF5 file failed", tmp_path_));
  }
  util::commit_file(tmp_path_, path_);
}

}  // namespace fourmi::data
