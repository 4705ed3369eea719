#include "fourmi/data/import.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <filesystem>
#include <stdexcept>

#include "fourmi/data/dataset.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/progress.h"

namespace fourmi::data {
namespace {

constexpr int64_t kBatch = 16;  // samples appended to the writer at a time

nlohmann::json field_json(const config::ImportFieldConfig& f) {
  return {{"name", f.name}, {"axes", f.axes}, {"time", f.time}, {"time_as", f.time_as}};
}

// The source's files (one, or the .npy files named) with their CRC-32.
nlohmann::json source_json(const std::string& format, const std::string& path, const config::ImportConfig& c) {
  nlohmann::json j = {{"format", format}, {"path", path}};
  if (format == "npy") {
    for (const auto* f : {&c.x, &c.y}) {
      const std::string file = (std::filesystem::path(path) / f->name).string();
      j["files"][f->name] = util::file_crc32(file);
    }
  } else {
    j["crc32"] = util::file_crc32(path);
  }
  return j;
}

}  // namespace

ImportField::ImportField(const config::ImportFieldConfig& spec, std::unique_ptr<SourceArray> array,
                         const std::string& side)
    : array_(std::move(array)) {
  const std::string key = "import." + side;
  const auto& shape = array_->shape();
  if (spec.axes.empty())
    throw std::runtime_error(
        fmt::format("{}: {}.axes is not set; name the array's {} axes (shape [{}]) with one letter "
                    "each: n (sample), c (channel), t (time), x, y, z",
                    array_->where(), key, shape.size(), fmt::join(shape, ",")));
  if (spec.axes.size() != shape.size())
    throw std::runtime_error(fmt::format("{}: {}.axes '{}' names {} axes but the array has {} (shape [{}])",
                                         array_->where(), key, spec.axes, spec.axes.size(), shape.size(),
                                         fmt::join(shape, ",")));
  sample_axis_ = static_cast<int>(spec.axes.find('n'));
  std::string slab_axes;
  for (size_t k = 0; k < shape.size(); ++k)
    if (static_cast<int>(k) != sample_axis_) slab_axes += spec.axes[k], slab_shape_.push_back(shape[k]);
  time_dim_ = static_cast<int>(slab_axes.find('t'));
  if (time_dim_ >= 0) {
    const int64_t T = slab_shape_[time_dim_];
    int64_t b = 0, e = T;
    if (!spec.time.empty()) {
      b = spec.time[0] < 0 ? T + spec.time[0] : spec.time[0];
      e = spec.time.size() == 1 ? b + 1 : (spec.time[1] <= 0 ? T + spec.time[1] : spec.time[1]);
    }
    if (b < 0 || b >= e || e > T)
      throw std::runtime_error(
          fmt::format("{}: {}.time [{}] selects snapshots [{}, {}) of a t axis of {}; accepted: "
                      "0 <= begin < end <= {} (negative begin and end <= 0 count from the end)",
                      array_->where(), key, fmt::join(spec.time, ","), b, e, T, T));
    time_begin_ = b, time_end_ = e;
  } else {
    time_dim_ = -1;
    if (!spec.time.empty())
      throw std::runtime_error(
          fmt::format("{}: {}.time is set but {}.axes '{}' has no t axis", array_->where(), key, key, spec.axes));
    if (spec.time_as == "space")
      throw std::runtime_error(
          fmt::format("{}: {}.time_as is space but {}.axes '{}' has no t axis", array_->where(), key, key, spec.axes));
  }
  // Channel dims (c, then t as channels), then spatial dims (x, y, z, then t as space).
  std::string order = "c";
  if (spec.time_as == "channels") order += "t";
  const size_t channel_letters = order.size();
  order += "xyz";
  if (spec.time_as == "space") order += "t";
  int64_t channels = 1;
  std::vector<int64_t> spatial;
  for (size_t i = 0; i < order.size(); ++i) {
    const size_t d = slab_axes.find(order[i]);
    if (d == std::string::npos) continue;
    permutation_.push_back(static_cast<int64_t>(d));
    const int64_t n = static_cast<int>(d) == time_dim_ ? time_end_ - time_begin_ : slab_shape_[d];
    if (i < channel_letters)
      channels *= n;
    else
      spatial.push_back(n);
  }
  if (spec.repeat > 0) spatial.push_back(spec.repeat);
  repeat_ = spec.repeat;
  if (spatial.empty() || spatial.size() > 3)
    throw std::runtime_error(
        fmt::format("{}: {}.axes '{}' gives {} spatial dimensions; accepted: 1 to 3 (x, y, z, "
                    "t with time_as: space, and the repeat axis)",
                    array_->where(), key, spec.axes, spatial.size()));
  sample_shape_ = {channels};
  sample_shape_.insert(sample_shape_.end(), spatial.begin(), spatial.end());
}

torch::Tensor ImportField::read(int64_t index) const {
  torch::Tensor slab = torch::empty(slab_shape_, torch::kFloat32);
  array_->read_slab(sample_axis_, index, slab.data_ptr<float>());
  if (time_dim_ >= 0) slab = slab.narrow(time_dim_, time_begin_, time_end_ - time_begin_);
  torch::Tensor sample = slab.permute(permutation_);
  if (repeat_ > 0) {  // the same values at every point of the new last dimension
    std::vector<int64_t> sizes = sample.sizes().vec();
    sizes.push_back(repeat_);
    sample = sample.unsqueeze(-1).expand(sizes);
  }
  sample = sample.reshape(sample_shape_).contiguous();
  if (!torch::isfinite(sample).all().item<bool>())
    throw std::runtime_error(fmt::format("{}: sample {} contains NaN or Inf", array_->where(), index));
  return sample;
}

std::string import_format(const config::ImportConfig& c) {
  if (c.format != "auto") return c.format;
  if (std::filesystem::is_directory(c.path)) return "npy";
  return std::filesystem::path(c.path).extension() == ".mat" ? "mat" : "hdf5";
}

ImportedDatasets import_datasets(const config::ImportConfig& c, bool progress) {
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"import.path", &c.path},
                                   {"import.out", &c.out},
                                   {"import.x.name", &c.x.name},
                                   {"import.y.name", &c.y.name}})
    if (value->empty()) throw std::runtime_error(fmt::format("{} is not set; docs/import.md shows a config", key));
  if (c.n_train < 1 || c.n_test < 1)
    throw std::runtime_error(
        fmt::format("import.n_train ({}) and import.n_test ({}) must both be >= 1", c.n_train, c.n_test));
  const std::string format = import_format(c);
  auto open_pair = [&](const std::string& path) {
    auto x = std::make_unique<ImportField>(c.x, open_source_array(format, path, c.x.name), "x");
    auto y = std::make_unique<ImportField>(c.y, open_source_array(format, path, c.y.name), "y");
    if (x->num_samples() != y->num_samples())
      throw std::runtime_error(fmt::format("{} holds {} samples but {} holds {}", x->array().where(), x->num_samples(),
                                           y->array().where(), y->num_samples()));
    std::vector<int64_t> xs(x->sample_shape().begin() + 1, x->sample_shape().end());
    std::vector<int64_t> ys(y->sample_shape().begin() + 1, y->sample_shape().end());
    if (xs != ys)
      throw std::runtime_error(
          fmt::format("{} gives samples on a grid [{}] but {} on [{}]; x and y must share the grid", x->array().where(),
                      fmt::join(xs, ","), y->array().where(), fmt::join(ys, ",")));
    return std::make_pair(std::move(x), std::move(y));
  };
  auto train = open_pair(c.path);
  const bool same_file = c.test_path.empty() || c.test_path == c.path;
  auto test =
      same_file ? std::pair<std::unique_ptr<ImportField>, std::unique_ptr<ImportField>>{} : open_pair(c.test_path);
  const ImportField& test_x = same_file ? *train.first : *test.first;
  const ImportField& test_y = same_file ? *train.second : *test.second;
  const int64_t test_start = c.test_start >= 0 ? c.test_start : (same_file ? c.n_train : 0);
  if (c.n_train > train.first->num_samples())
    throw std::runtime_error(fmt::format("{}: import.n_train is {} but it holds {} samples",
                                         train.first->array().where(), c.n_train, train.first->num_samples()));
  if (test_start + c.n_test > test_x.num_samples())
    throw std::runtime_error(
        fmt::format("{}: test samples [{}, {}) asked for (import.test_start, import.n_test) but it "
                    "holds {}",
                    test_x.array().where(), test_start, test_start + c.n_test, test_x.num_samples()));
  if (same_file && test_start < c.n_train)
    throw std::runtime_error(
        fmt::format("{}: the test samples [{}, {}) overlap the training samples [0, {}); set "
                    "import.test_start >= import.n_train, or give import.test_path",
                    c.path, test_start, test_start + c.n_test, c.n_train));
  if (test_x.sample_shape() != train.first->sample_shape() || test_y.sample_shape() != train.second->sample_shape())
    throw std::runtime_error(
        fmt::format("{}: test samples are x [{}] y [{}] but the training samples x [{}] y [{}]", c.test_path,
                    fmt::join(test_x.sample_shape(), ","), fmt::join(test_y.sample_shape(), ","),
                    fmt::join(train.first->sample_shape(), ","), fmt::join(train.second->sample_shape(), ",")));
  nlohmann::json generator = {{"import", {{"x", field_json(c.x)}, {"y", field_json(c.y)}}}};
  generator["import"]["source"] = source_json(format, c.path, c);
  if (!same_file) generator["import"]["test_source"] = source_json(format, c.test_path, c);

  auto write_split = [&](const std::string& split, const ImportField& x, const ImportField& y, int64_t first,
                         int64_t count) {
    Manifest header;
    header.name = std::filesystem::path(c.out).filename().string() + "-" + split;
    header.split = split;
    header.pde = "imported";
    header.num_samples = count;
    header.x_shape = x.sample_shape();
    header.y_shape = y.sample_shape();
    header.generator = generator;
    header.generator["import"]["first_sample"] = first;
    DatasetWriter writer(c.out + "-" + split, header, std::min<int64_t>(c.shards, count));
    util::ProgressBar bar(fmt::format("import {}", header.name), count, progress);
    for (int64_t done = 0; done < count; done += kBatch) {
      const int64_t k = std::min(kBatch, count - done);
      std::vector<torch::Tensor> xs, ys;
      for (int64_t i = first + done; i < first + done + k; ++i) {
        xs.push_back(x.read(i));
        ys.push_back(y.read(i));
        if (!ys.back().ne(0).any().item<bool>())
          throw std::runtime_error(
              fmt::format("{}: sample {} is zero everywhere; the relative L2 loss divides by the "
                          "target's norm (leave the sample out)",
                          y.array().where(), i));
      }
      writer.append(torch::stack(xs), torch::stack(ys));
      bar.update(done + k);
    }
    bar.finish();
    return writer.finish();
  };
  ImportedDatasets out;
  out.train_dir = c.out + "-train";
  out.test_dir = c.out + "-test";
  out.train = write_split("train", *train.first, *train.second, 0, c.n_train);
  out.test = write_split("test", test_x, test_y, test_start, c.n_test);
  return out;
}

}  // namespace fourmi::data
