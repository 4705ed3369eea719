#include "fourmi/data/source_array.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hdf5.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <regex>
#include <stdexcept>

#ifdef FOURMI_HAVE_MATIO
#include <matio.h>
#endif

namespace fourmi::data {
namespace {

int64_t product(const std::vector<int64_t>& v) {
  int64_t n = 1;
  for (auto s : v) n *= s;
  return n;
}

void check_axis(const SourceArray& a, int axis, int64_t index) {
  if (axis < 0 || axis >= static_cast<int>(a.shape().size()) || index < 0 || index >= a.shape()[axis])
    throw std::out_of_range(fmt::format("{}: index {} of axis {} is outside the array's shape [{}]", a.where(), index,
                                        axis, fmt::join(a.shape(), ",")));
}

// Copies the slab at `index` of `axis` from an array with element strides `strides` (in elements
// of T) into `out`, row-major over the other axes, converting to float.
template <class T>
void gather_slab(const T* base, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int axis,
                 int64_t index, float* out) {
  std::vector<int64_t> dims, st;
  for (size_t k = 0; k < shape.size(); ++k)
    if (static_cast<int>(k) != axis) dims.push_back(shape[k]), st.push_back(strides[k]);
  const T* origin = base + index * strides[axis];
  const int64_t n = product(dims);
  std::vector<int64_t> idx(dims.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t k = 0; k < dims.size(); ++k) off += idx[k] * st[k];
    out[i] = static_cast<float>(origin[off]);
    for (int k = static_cast<int>(dims.size()) - 1; k >= 0; --k) {
      if (++idx[k] < dims[k]) break;
      idx[k] = 0;
    }
  }
}

// --- HDF5 ---------------------------------------------------------------------------------------
class Hdf5Array final : public SourceArray {
 public:
  Hdf5Array(const std::string& path, const std::string& name) {
    where_ = path + ":" + name;
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file_ < 0)
      throw std::runtime_error(fmt::format("{}: cannot open as HDF5 (missing, truncated or not HDF5)", path));
    if (H5Lexists(file_, name.c_str(), H5P_DEFAULT) <= 0 || (ds_ = H5Dopen2(file_, name.c_str(), H5P_DEFAULT)) < 0) {
      release();
      throw std::runtime_error(
          fmt::format("{}: no dataset '{}' in the file; set import.x.name / import.y.name to "
                      "one of its datasets (h5ls -r {} lists them)",
                      path, name, path));
    }
    hid_t type = H5Dget_type(ds_);
    const H5T_class_t cls = H5Tget_class(type);
    H5Tclose(type);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
      release();
      throw std::runtime_error(
          fmt::format("{}: not a real numeric dataset (HDF5 type class {}); accepted: float or integer", where_,
                      static_cast<int>(cls)));
    }
    hid_t space = H5Dget_space(ds_);
    const int rank = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> dims(rank > 0 ? rank : 0);
    if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    H5Sclose(space);
    for (auto d : dims) shape_.push_back(static_cast<int64_t>(d));
  }
  ~Hdf5Array() override { release(); }
  void read_slab(int axis, int64_t index, float* out) const override {
    check_axis(*this, axis, index);
    const int rank = static_cast<int>(shape_.size());
    std::vector<hsize_t> start(rank, 0), count(rank);
    for (int k = 0; k < rank; ++k) count[k] = static_cast<hsize_t>(shape_[k]);
    start[axis] = static_cast<hsize_t>(index);
    count[axis] = 1;
    hid_t fspace = H5Dget_space(ds_);
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    hid_t mspace = H5Screate_simple(rank, count.data(), nullptr);
    const herr_t rc = H5Dread(ds_, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, out);
    H5Sclose(mspace);
    H5Sclose(fspace);
    if (rc < 0) throw std::runtime_error(fmt::format("{}: reading index {} of axis {} failed", where_, index, axis));
  }

 private:
  void release() {
    if (ds_ >= 0) H5Dclose(ds_);
    if (file_ >= 0) H5Fclose(file_);
    ds_ = file_ = -1;
  }
  hid_t file_ = -1, ds_ = -1;
};

// --- NumPy .npy ---------------------------------------------------------------------------------
// Format 1.0-3.0: magic "\x93NUMPY", version, header length, a Python dict literal with descr,
// fortran_order and shape, then the raw data. The file is mapped, not read: pages come in as slabs
// are gathered.
class NpyArray final : public SourceArray {
 public:
  explicit NpyArray(const std::string& path) {
    where_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    struct stat st {};
    ::fstat(fd_, &st);
    size_ = static_cast<size_t>(st.st_size);
    char head[12] = {};
    if (size_ < 10 || ::pread(fd_, head, 10, 0) != 10 || std::memcmp(head, "\x93NUMPY", 6) != 0)
      fail("not a NumPy .npy file (no \\x93NUMPY magic)");
    const int major = static_cast<unsigned char>(head[6]);
    size_t header_len = 0, header_at = 0;
    if (major == 1) {
      header_len =
          static_cast<unsigned char>(head[8]) | (static_cast<size_t>(static_cast<unsigned char>(head[9])) << 8);
      header_at = 10;
    } else if (major == 2 || major == 3) {
      unsigned char b[4];
      if (::pread(fd_, b, 4, 8) != 4) fail("truncated header");
      header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<size_t>(b[3]) << 24);
      header_at = 12;
    } else {
      fail(fmt::format("format version {}; accepted: 1, 2, 3", major));
    }
    if (header_at + header_len > size_ || header_len > (1u << 20)) fail("truncated header");
    std::string header(header_len, '\0');
    if (::pread(fd_, header.data(), header_len, static_cast<off_t>(header_at)) != static_cast<ssize_t>(header_len))
      fail("truncated header");
    std::smatch m;
    if (!std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([<>|=])([fiu])(\\d+)'")))
      fail("no supported 'descr'; accepted: little-endian float32/64, int8-64, uint8-64 ('<f4', '<f8', ...)");
    if (m[1] == ">") fail("big-endian data; accepted: little-endian (numpy's default on x86 and ARM)");
    kind_ = m[2].str()[0];
    bytes_ = std::stoi(m[3]);
    if (!((kind_ == 'f' && (bytes_ == 4 || bytes_ == 8)) ||
          ((kind_ == 'i' || kind_ == 'u') && (bytes_ == 1 || bytes_ == 2 || bytes_ == 4 || bytes_ == 8))))
      fail(fmt::format("dtype '{}{}' is not supported; accepted: float32/64, int8-64, uint8-64", kind_, bytes_));
    fortran_ = std::regex_search(header, std::regex("'fortran_order'\\s*:\\s*True"));
    if (!std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)"))) fail("no 'shape' in the header");
    const std::string dims = m[1];
    const std::regex number("\\d+");
    for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it)
      shape_.push_back(std::stoll(it->str()));
    data_at_ = header_at + header_len;
    if (data_at_ + static_cast<size_t>(product(shape_)) * bytes_ > size_)
      fail(fmt::format("shape [{}] of {}-byte values needs more data than the file holds", fmt::join(shape_, ","),
                       bytes_));
    map_ = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (map_ == MAP_FAILED) {
      map_ = nullptr;
      fail(fmt::format("cannot map: {}", std::strerror(errno)));
    }
  }
  ~NpyArray() override {
    if (map_) ::munmap(map_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  void read_slab(int axis, int64_t index, float* out) const override {
    check_axis(*this, axis, index);
    const int rank = static_cast<int>(shape_.size());
    std::vector<int64_t> strides(rank, 1);
    if (fortran_)
      for (int k = 1; k < rank; ++k) strides[k] = strides[k - 1] * shape_[k - 1];
    else
      for (int k = rank - 2; k >= 0; --k) strides[k] = strides[k + 1] * shape_[k + 1];
    const char* base = static_cast<const char*>(map_) + data_at_;
    auto as = [&](auto type_tag) {
      using T = decltype(type_tag);
      gather_slab(reinterpret_cast<const T*>(base), shape_, strides, axis, index, out);
    };
    if (kind_ == 'f' && bytes_ == 4)
      as(float{});
    else if (kind_ == 'f' && bytes_ == 8)
      as(double{});
    else if (kind_ == 'i' && bytes_ == 1)
      as(int8_t{});
    else if (kind_ == 'i' && bytes_ == 2)
      as(int16_t{});
    else if (kind_ == 'i' && bytes_ == 4)
      as(int32_t{});
    else if (kind_ == 'i' && bytes_ == 8)
      as(int64_t{});
    else if (bytes_ == 1)
      as(uint8_t{});
    else if (bytes_ == 2)
      as(uint16_t{});
    else if (bytes_ == 4)
      as(uint32_t{});
    else
      as(uint64_t{});
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(fmt::format("{}: {}", where_, what));
  }
  int fd_ = -1;
  size_t size_ = 0, data_at_ = 0;
  void* map_ = nullptr;
  char kind_ = 'f';
  int bytes_ = 4;
  bool fortran_ = false;
};

#ifdef FOURMI_HAVE_MATIO
// --- MATLAB .mat (v5, compressed or not, and v7.3) through matio ---------------------------------
class MatArray final : public SourceArray {
 public:
  MatArray(const std::string& path, const std::string& name) {
    where_ = path + ":" + name;
    mat_ = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
    if (!mat_) throw std::runtime_error(fmt::format("{}: cannot open as a MATLAB file (v5 or v7.3)", path));
    var_ = Mat_VarReadInfo(mat_, name.c_str());
    if (!var_) {
      std::string names;
      Mat_Rewind(mat_);
      for (matvar_t* v; (v = Mat_VarReadNextInfo(mat_)) != nullptr; Mat_VarFree(v))
        names += (names.empty() ? "" : ", ") + std::string(v->name ? v->name : "?");
      release();
      throw std::runtime_error(fmt::format("{}: no variable '{}'; the file holds: {}", path, name, names));
    }
    if (var_->isComplex || !numeric(var_->class_type)) {
      const bool complex = var_->isComplex != 0;
      release();
      throw std::runtime_error(fmt::format("{}: {}; accepted: a real numeric array (double, single or integer)", where_,
                                           complex ? "a complex array" : "not a numeric array"));
    }
    for (int k = 0; k < var_->rank; ++k) shape_.push_back(static_cast<int64_t>(var_->dims[k]));
  }
  ~MatArray() override { release(); }
  void read_slab(int axis, int64_t index, float* out) const override {
    check_axis(*this, axis, index);
    const int rank = static_cast<int>(shape_.size());
    std::vector<int> start(rank, 0), stride(rank, 1), edge(rank);
    for (int k = 0; k < rank; ++k) edge[k] = static_cast<int>(shape_[k]);
    start[axis] = static_cast<int>(index);
    edge[axis] = 1;
    std::vector<int64_t> slab(shape_);
    slab[axis] = 1;
    const int64_t n = product(slab);
    std::vector<double> buf(static_cast<size_t>(n));
    // Read as double (matio converts any numeric class), column-major over the slab's dims.
    matvar_t probe = *var_;
    probe.class_type = MAT_C_DOUBLE;
    if (Mat_VarReadData(mat_, &probe, buf.data(), start.data(), stride.data(), edge.data()) != 0)
      throw std::runtime_error(fmt::format("{}: reading index {} of axis {} failed", where_, index, axis));
    std::vector<int64_t> strides(rank, 1);  // column-major strides of the slab
    for (int k = 1; k < rank; ++k) strides[k] = strides[k - 1] * slab[k - 1];
    gather_slab(buf.data(), slab, strides, axis, 0, out);
  }

 private:
  static bool numeric(matio_classes c) {
    return c == MAT_C_DOUBLE || c == MAT_C_SINGLE || c == MAT_C_INT8 || c == MAT_C_UINT8 || c == MAT_C_INT16 ||
           c == MAT_C_UINT16 || c == MAT_C_INT32 || c == MAT_C_UINT32 || c == MAT_C_INT64 || c == MAT_C_UINT64;
  }
  void release() {
    if (var_) Mat_VarFree(var_);
    if (mat_) Mat_Close(mat_);
    var_ = nullptr;
    mat_ = nullptr;
  }
  mat_t* mat_ = nullptr;
  matvar_t* var_ = nullptr;
};
#endif

}  // namespace

bool mat_files_supported() {
#ifdef FOURMI_HAVE_MATIO
  return true;
#else
  return false;
#endif
}

std::unique_ptr<SourceArray> open_source_array(const std::string& format, const std::string& path,
                                               const std::string& name) {
  if (name.empty())
    throw std::runtime_error(fmt::format("{}: no array named; set import.x.name and import.y.name", path));
  if (format == "hdf5") return std::make_unique<Hdf5Array>(path, name);
  if (format == "npy") return std::make_unique<NpyArray>((std::filesystem::path(path) / name).string());
  if (format == "mat") {
#ifdef FOURMI_HAVE_MATIO
    return std::make_unique<MatArray>(path, name);
#else
    throw std::runtime_error(fmt::format(
        "{}: this fourmi was built without matio, so it reads no MATLAB files; install libmatio-dev and rebuild, "
        "or convert the file to HDF5",
        path));
#endif
  }
  throw std::invalid_argument(fmt::format("import.format '{}'; accepted: mat, hdf5, npy", format));
}

}  // namespace fourmi::data
