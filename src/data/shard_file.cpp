#include "fourmi/data/shard_file.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <fcntl.h>
#include <unistd.h>

#include <stdexcept>

namespace fourmi::data {
namespace {

// fourmi reports HDF5 failures itself, naming the file and dataset. HDF5's automatic error
// printing is a per-thread setting in thread-safe builds, so every thread that opens, reads or
// writes a shard turns it off once.
void silence_hdf5_on_this_thread() {
  thread_local const bool silenced = [] { return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0; }();
  (void)silenced;
}

std::vector<int64_t> field_shape(hid_t ds, const std::string& path, const char* name, int64_t* n) {
  hid_t space = H5Dget_space(ds);
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 2 || rank > 5) {
    H5Sclose(space);
    throw std::runtime_error(
        fmt::format("{}: dataset /{} has rank {}; accepted: [N, C, n_1..n_d] with d in 1..3", path, name, rank));
  }
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  H5Sclose(space);
  hid_t type = H5Dget_type(ds);
  bool is_f32 = H5Tget_class(type) == H5T_FLOAT && H5Tget_size(type) == 4;
  H5Tclose(type);
  if (!is_f32) throw std::runtime_error(fmt::format("{}: dataset /{} is not float32; accepted: float32", path, name));
  // A sample of at most 2^34 values (64 GiB): a larger one, or a product that overflows, is a
  // damaged or foreign file (found by fuzzing), refused before any size is computed from it.
  uint64_t values = 1;
  for (size_t d = 1; d < dims.size(); ++d) {
    if (dims[d] == 0 || dims[d] > (uint64_t{1} << 34) || values > (uint64_t{1} << 34) / dims[d])
      throw std::runtime_error(
          fmt::format("{}: dataset /{} has a sample of shape [{}]; accepted: every extent >= 1 "
                      "and at most 2^34 values per sample",
                      path, name, fmt::join(dims.begin() + 1, dims.end(), ",")));
    values *= dims[d];
  }
  if (dims[0] > (uint64_t{1} << 40))
    throw std::runtime_error(
        fmt::format("{}: dataset /{} claims {} samples; accepted: at most 2^40", path, name, dims[0]));
  *n = static_cast<int64_t>(dims[0]);
  return std::vector<int64_t>(dims.begin() + 1, dims.end());
}

// True when every chunk of `ds` is one whole sample [1, *shape] stored without filters as
// little-endian float32: the raw chunk bytes are then the sample.
bool whole_sample_raw_chunks(hid_t ds, const std::vector<int64_t>& shape) {
  hid_t plist = H5Dget_create_plist(ds);
  bool ok = H5Pget_layout(plist) == H5D_CHUNKED && H5Pget_nfilters(plist) == 0;
  if (ok) {
    std::vector<hsize_t> chunk(shape.size() + 1);
    ok = H5Pget_chunk(plist, static_cast<int>(chunk.size()), chunk.data()) == static_cast<int>(chunk.size()) &&
         chunk[0] == 1;
    for (size_t k = 0; ok && k < shape.size(); ++k) ok = chunk[k + 1] == static_cast<hsize_t>(shape[k]);
  }
  H5Pclose(plist);
  hid_t type = H5Dget_type(ds);
  ok = ok && H5Tequal(type, H5T_IEEE_F32LE) > 0 && H5Tequal(H5T_NATIVE_FLOAT, H5T_IEEE_F32LE) > 0;
  H5Tclose(type);
  return ok;
}

}  // namespace

std::vector<int64_t> subsampled_shape(const std::vector<int64_t>& shape, int sub) {
  std::vector<int64_t> out = shape;
  for (size_t k = 1; k < out.size(); ++k) out[k] = (shape[k] + sub - 1) / sub;
  return out;
}

ShardWriter::ShardWriter(std::string path, int64_t num_samples, std::vector<int64_t> x_shape,
                         std::vector<int64_t> y_shape)
    : file_(std::move(path), num_samples, {{"x", std::move(x_shape)}, {"y", std::move(y_shape)}}) {}

void ShardWriter::append(const torch::Tensor& x, const torch::Tensor& y) {
  if (written_ + x.size(0) > file_.num_samples())
    throw std::logic_error(
        fmt::format("{}: more samples appended than the {} declared", file_.path(), file_.num_samples()));
  file_.write(0, written_, x);
  file_.write(1, written_, y);
  written_ += x.size(0);
}

void ShardWriter::close() {
  if (written_ != file_.num_samples())
    throw std::logic_error(
        fmt::format("{}: closed after {} of {} samples", file_.path(), written_, file_.num_samples()));
  file_.close();
}

ShardReader::ShardReader(std::string path) : path_(std::move(path)) {
  silence_hdf5_on_this_thread();
  file_ = H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0)
    throw std::runtime_error(fmt::format("{}: cannot open as HDF5 (missing, truncated or not HDF5)", path_));
  try {  // a refused file is closed again (found by tests/fuzz/fuzz_shard_reader.cpp: handles leaked)
    x_ = H5Dopen2(file_, "x", H5P_DEFAULT);
    y_ = H5Dopen2(file_, "y", H5P_DEFAULT);
    if (x_ < 0 || y_ < 0)
      throw std::runtime_error(
          fmt::format("{}: missing dataset /{}; a shard holds /x and /y", path_, x_ < 0 ? "x" : "y"));
    int64_t nx = 0, ny = 0;
    x_shape_ = field_shape(x_, path_, "x", &nx);
    y_shape_ = field_shape(y_, path_, "y", &ny);
    if (nx != ny) throw std::runtime_error(fmt::format("{}: /x has {} samples but /y has {}", path_, nx, ny));
    num_samples_ = nx;
    x_direct_ = whole_sample_raw_chunks(x_, x_shape_);
    y_direct_ = whole_sample_raw_chunks(y_, y_shape_);
  } catch (...) {
    release();
    throw;
  }
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);  // hints only: failure just means no readahead
}

void ShardReader::release() noexcept {
  if (fd_ >= 0) ::close(fd_);
  if (x_ >= 0) H5Dclose(x_);
  if (y_ >= 0) H5Dclose(y_);
  if (file_ >= 0) H5Fclose(file_);
  fd_ = -1, x_ = -1, y_ = -1, file_ = -1;
}

void ShardReader::will_need(int64_t index) {
  if (fd_ < 0 || index < 0 || index >= num_samples_) return;
  for (hid_t ds : {x_, y_}) {
    const int rank = static_cast<int>(shape(ds == x_ ? "x" : "y").size()) + 1;
    std::vector<hsize_t> coord(rank, 0);
    coord[0] = static_cast<hsize_t>(index);
    unsigned filter_mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    if (H5Dget_chunk_info_by_coord(ds, coord.data(), &filter_mask, &addr, &size) < 0 || addr == HADDR_UNDEF) continue;
    ::posix_fadvise(fd_, static_cast<off_t>(addr), static_cast<off_t>(size), POSIX_FADV_WILLNEED);
  }
}

ShardReader::~ShardReader() { release(); }

const std::vector<int64_t>& ShardReader::shape(const char* field) const {
  return field[0] == 'x' ? x_shape_ : y_shape_;
}

void ShardReader::read(const char* field, int64_t index, int sub, torch::Tensor& out) const {
  silence_hdf5_on_this_thread();
  hid_t ds = field[0] == 'x' ? x_ : y_;
  const auto& shape = this->shape(field);
  const int rank = static_cast<int>(shape.size()) + 1;
  // Read the whole sample (one chunk, one contiguous read) and subsample in memory: HDF5's
  // strided hyperslabs take a much slower path than a plain chunk read. Files written by fourmi
  // are read chunk by chunk (H5Dread_chunk); others (e.g. repacked with filters) via H5Dread.
  const bool direct = field[0] == 'x' ? x_direct_ : y_direct_;
  std::vector<hsize_t> start(rank, 0), count(rank);
  start[0] = static_cast<hsize_t>(index);
  count[0] = 1;
  for (int k = 1; k < rank; ++k) count[k] = static_cast<hsize_t>(shape[k - 1]);
  thread_local std::vector<float> scratch;  // the full-resolution sample when subsampling
  int64_t full_numel = 1;
  for (auto n : shape) full_numel *= n;
  if (sub != 1) scratch.resize(static_cast<size_t>(full_numel));
  float* dst = sub == 1 ? out.data_ptr<float>() : scratch.data();
  herr_t rc = 0;
  if (direct) {
    uint32_t filters = 0;
    rc = H5Dread_chunk(ds, H5P_DEFAULT, start.data(), &filters, dst);
  } else {
    hid_t fspace = H5Dget_space(ds);
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    hid_t mspace = H5Screate_simple(rank, count.data(), nullptr);
    rc = H5Dread(ds, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, dst);
    H5Sclose(mspace);
    H5Sclose(fspace);
  }
  if (rc < 0)
    throw std::runtime_error(
        fmt::format("{}: reading /{} sample {} failed (truncated or corrupted file)", path_, field, index));
  if (sub != 1) subsample_into(scratch.data(), shape, sub, out.data_ptr<float>());
}

void subsample_into(const float* src, const std::vector<int64_t>& shape, int sub, float* dst) {
  // shape = [C, n_1, ..., n_d]; keeps every sub-th point along each spatial dimension.
  const int d = static_cast<int>(shape.size()) - 1;
  std::vector<int64_t> in_stride(shape.size(), 1);
  for (int k = static_cast<int>(shape.size()) - 2; k >= 0; --k) in_stride[k] = in_stride[k + 1] * shape[k + 1];
  std::vector<int64_t> out_n(shape.size());
  out_n[0] = shape[0];
  for (int k = 1; k <= d; ++k) out_n[k] = (shape[k] + sub - 1) / sub;
  const int64_t last_out = out_n[d];
  // Iterate over all output rows (every index but the last spatial one), copy a strided row each.
  int64_t rows = 1;
  for (int k = 0; k < d; ++k) rows *= out_n[k];
  std::vector<int64_t> idx(static_cast<size_t>(d), 0);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t offset = 0;
    for (int k = 0; k < d; ++k) offset += idx[k] * (k == 0 ? 1 : sub) * in_stride[k];
    const float* row = src + offset;
    for (int64_t j = 0; j < last_out; ++j) dst[j] = row[j * sub];
    dst += last_out;
    for (int k = d - 1; k >= 0; --k) {
      if (++idx[k] < out_n[k]) break;
      idx[k] = 0;
    }
  }
}

}  // namespace fourmi::data
