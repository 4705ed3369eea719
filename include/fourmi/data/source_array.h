// source_array.h — one array of a file that another program wrote (a MATLAB .mat file, v5 or
// v7.3; an HDF5 dataset; a NumPy .npy file), read one index of one axis at a time: importing never
// holds the whole array in memory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fourmi::data {

class SourceArray {
 public:
  virtual ~SourceArray() = default;
  // Extents in the source's own order: MATLAB's for .mat files (as `whos` shows them), the stored
  // (C) order for HDF5 and .npy (a Fortran-ordered .npy keeps its logical order).
  const std::vector<int64_t>& shape() const { return shape_; }
  // "file:variable", for messages.
  const std::string& where() const { return where_; }
  // The slab at `index` of axis `axis` as float32, row-major over the other axes in shape() order
  // (numel / shape()[axis] values). Throws naming where() on a read failure.
  virtual void read_slab(int axis, int64_t index, float* out) const = 0;

 protected:
  std::vector<int64_t> shape_;
  std::string where_;
};

// Opens array `name` of `path` in `format` (mat | hdf5 | npy; for npy, `path` is a directory and
// `name` a file in it). Throws naming the file and the variable, and what is accepted, when the
// file cannot be read, the variable is missing, complex, or not numeric.
std::unique_ptr<SourceArray> open_source_array(const std::string& format, const std::string& path,
                                               const std::string& name);

// Whether this build reads MATLAB files (libmatio found at configure time).
bool mat_files_supported();

}  // namespace fourmi::data
