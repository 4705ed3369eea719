#include "fourmi/data/dataset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "fourmi/util/fs.h"
#include "fourmi/util/partition.h"

namespace fourmi::data {

namespace {

// Every sub-th point along each spatial dimension of a batch [k, C, n_1, ..., n_d].
torch::Tensor subsample_batch(const torch::Tensor& t, int sub) {
  torch::Tensor out = t;
  for (int64_t d = 2; d < t.dim(); ++d) out = out.slice(d, 0, c10::nullopt, sub);
  return out;
}

}  // namespace

DatasetWriter::DatasetWriter(std::string dir, Manifest header, int num_shards, const std::vector<int>& levels)
    : dir_(std::move(dir)), manifest_(std::move(header)), num_shards_(num_shards) {
  for (int sub : levels) {
    Manifest level = manifest_;
    level.name = fmt::format("{}-sub{}", manifest_.name, sub);
    level.x_shape = subsampled_shape(manifest_.x_shape, sub);
    level.y_shape = subsampled_shape(manifest_.y_shape, sub);
    level.stored_sub = manifest_.stored_sub * sub;
    level.levels.clear();
    for (size_t k = 1; k < manifest_.x_shape.size(); ++k)
      if (level.x_shape[k] < 2)
        throw std::invalid_argument(
            fmt::format("datagen.levels: sub {} leaves {} point(s) of the {} along spatial dimension {} of {}; "
                        "accepted: levels that keep at least 2 points",
                        sub, level.x_shape[k], manifest_.x_shape[k], k, manifest_.name));
    const std::string sub_dir = fmt::format("sub{}", sub);
    level_writers_.push_back(
        std::make_unique<DatasetWriter>((std::filesystem::path(dir_) / sub_dir).string(), level, num_shards));
    manifest_.levels.push_back({sub, sub_dir});
  }
  if (manifest_.num_samples < num_shards_)
    throw std::invalid_argument(
        fmt::format("{}: {} samples cannot fill {} shards", dir_, manifest_.num_samples, num_shards_));
  util::make_dirs(dir_);
  std::filesystem::remove(std::filesystem::path(dir_) / "manifest.json");  // incomplete until finish()
  for (int s = 0; s < num_shards_; ++s)
    shard_sizes_.push_back(util::balanced_piece(manifest_.num_samples, s, num_shards_).count);
  const auto cx = manifest_.x_shape[0], cy = manifest_.y_shape[0];
  x_sum_.assign(cx, 0), x_sq_.assign(cx, 0), y_sum_.assign(cy, 0), y_sq_.assign(cy, 0);
  manifest_.shards.clear();
}

void DatasetWriter::open_next_shard() {
  ++current_index_;
  std::string file = shard_file_name(manifest_.name, current_index_, num_shards_);
  current_ = std::make_unique<ShardWriter>((std::filesystem::path(dir_) / file).string(), shard_sizes_[current_index_],
                                           manifest_.x_shape, manifest_.y_shape);
  manifest_.shards.push_back({file, shard_sizes_[current_index_], ""});
}

void DatasetWriter::append(const torch::Tensor& x_in, const torch::Tensor& y_in) {
  torch::Tensor x = x_in.to(torch::kCPU, torch::kFloat32), y = y_in.to(torch::kCPU, torch::kFloat32);
  // Statistics of the full resolution only: the levels take them over in complete().
  auto accumulate = [](const torch::Tensor& t, std::vector<double>& sum, std::vector<double>& sq, double& pts) {
    torch::Tensor d = t.to(torch::kFloat64).transpose(0, 1).reshape({t.size(1), -1});
    auto s = d.sum(1), q = (d * d).sum(1);
    for (int64_t c = 0; c < d.size(0); ++c) sum[c] += s[c].item<double>(), sq[c] += q[c].item<double>();
    pts += static_cast<double>(d.size(1));
  };
  accumulate(x, x_sum_, x_sq_, points_x_);
  accumulate(y, y_sum_, y_sq_, points_y_);
  write_samples(x, y);
  for (size_t k = 0; k < level_writers_.size(); ++k) {
    const int sub = manifest_.levels[k].sub;
    level_writers_[k]->write_samples(subsample_batch(x, sub), subsample_batch(y, sub));
  }
}

void DatasetWriter::write_samples(const torch::Tensor& x, const torch::Tensor& y) {
  int64_t offset = 0;
  while (offset < x.size(0)) {
    if (!current_ || current_->written() == shard_sizes_[current_index_]) {
      if (current_) {
        current_->close();
        current_.reset();
      }
      open_next_shard();
    }
    int64_t room = shard_sizes_[current_index_] - current_->written();
    int64_t take = std::min(room, x.size(0) - offset);
    current_->append(x.narrow(0, offset, take), y.narrow(0, offset, take));
    offset += take;
  }
}

Manifest DatasetWriter::finish() { return complete(nullptr); }

Manifest DatasetWriter::complete(const Manifest* parent) {
  if (current_) {
    current_->close();
    current_.reset();
  }
  if (static_cast<int>(manifest_.shards.size()) != num_shards_)
    throw std::logic_error(
        fmt::format("{}: finished after {} of {} shards", dir_, manifest_.shards.size(), num_shards_));
  for (auto& s : manifest_.shards) s.crc32 = util::file_crc32((std::filesystem::path(dir_) / s.file).string());
  auto finalize = [](const std::vector<double>& sum, const std::vector<double>& sq, double n, FieldStats& out) {
    out.mean.clear(), out.std.clear();
    for (size_t c = 0; c < sum.size(); ++c) {
      double mean = sum[c] / n;
      out.mean.push_back(mean);
      out.std.push_back(std::sqrt(std::max(sq[c] / n - mean * mean, 0.0)));
    }
  };
  if (parent) {  // a level normalises like the full resolution, so training reads the same values from either
    manifest_.x_stats = parent->x_stats;
    manifest_.y_stats = parent->y_stats;
  } else {
    finalize(x_sum_, x_sq_, points_x_, manifest_.x_stats);
    finalize(y_sum_, y_sq_, points_y_, manifest_.y_stats);
  }
  for (auto& level : level_writers_) level->complete(&manifest_);  // levels first: a manifest means all is written
  manifest_.save(dir_);
  return manifest_;
}

Dataset::Dataset(std::string dir, int sub, bool verify_checksums, int64_t limit, bool use_levels)
    : dir_(std::move(dir)), manifest_(Manifest::load(dir_)), sub_(sub), read_sub_(sub), verify_(verify_checksums) {
  if (use_levels) select_level();
  size_ = manifest_.num_samples;
  if (limit > 0) {
    if (limit > size_)
      throw std::runtime_error(
          fmt::format("{}: {} samples asked for (data.n_train/n_test) but the dataset holds {}", dir_, limit, size_));
    size_ = limit;
  }
  int64_t start = 0;
  for (const auto& s : manifest_.shards) {
    shard_start_.push_back(start);
    start += s.num_samples;
    auto path = std::filesystem::path(dir_) / s.file;
    if (!std::filesystem::exists(path))
      throw std::runtime_error(fmt::format("{}: shard listed in manifest.json is missing", path.string()));
  }
  readers_.resize(manifest_.shards.size());
}

void Dataset::select_level() {
  const StoredLevel* best = nullptr;
  for (const auto& l : manifest_.levels)
    if (sub_ % l.sub == 0 && (!best || l.sub > best->sub)) best = &l;
  if (!best) return;
  const std::string level_dir = (std::filesystem::path(dir_) / best->dir).string();
  Manifest level = Manifest::load(level_dir);
  const auto want_x = subsampled_shape(manifest_.x_shape, best->sub),
             want_y = subsampled_shape(manifest_.y_shape, best->sub);
  const int want_stored_sub = manifest_.stored_sub * best->sub;
  if (level.num_samples != manifest_.num_samples || level.stored_sub != want_stored_sub || level.x_shape != want_x ||
      level.y_shape != want_y)
    throw std::runtime_error(fmt::format(
        "{}/manifest.json: stored level (sub {}) does not match {}/manifest.json: {} samples x [{}] y [{}] stored_sub "
        "{}, "
        "expected {} samples x [{}] y [{}] stored_sub {}; regenerate the dataset or set data.stored_levels: false",
        level_dir, best->sub, dir_, level.num_samples, fmt::join(level.x_shape, ","), fmt::join(level.y_shape, ","),
        level.stored_sub, manifest_.num_samples, fmt::join(want_x, ","), fmt::join(want_y, ","), want_stored_sub));
  read_sub_ = sub_ / best->sub;
  dir_ = level_dir;
  manifest_ = std::move(level);
}

std::string Dataset::shard_path(size_t s) const {
  return (std::filesystem::path(dir_) / manifest_.shards[s].file).string();
}

size_t Dataset::shard_of(int64_t index) const {
  if (index < 0 || index >= size_)
    throw std::out_of_range(fmt::format("{}: sample {} out of range [0, {})", dir_, index, size_));
  return std::upper_bound(shard_start_.begin(), shard_start_.end(), index) - shard_start_.begin() - 1;
}

void Dataset::check_crc(size_t s, const std::string& crc) const {
  if (crc != manifest_.shards[s].crc32)
    throw std::runtime_error(fmt::format(
        "{}: checksum mismatch (crc32 {} on disk, {} in manifest.json): the file is corrupted or was replaced",
        shard_path(s), crc, manifest_.shards[s].crc32));
}

void Dataset::open_shard(size_t s, bool verified) {
  const auto& info = manifest_.shards[s];
  std::string path = shard_path(s);
  if (verify_ && !verified) check_crc(s, util::file_crc32(path));
  auto reader = std::make_unique<ShardReader>(path);
  if (reader->num_samples() != info.num_samples)
    throw std::runtime_error(
        fmt::format("{}: holds {} samples, manifest.json says {}", path, reader->num_samples(), info.num_samples));
  if (reader->shape("x") != manifest_.x_shape || reader->shape("y") != manifest_.y_shape)
    throw std::runtime_error(fmt::format("{}: sample shapes x [{}] y [{}] differ from manifest.json's x [{}] y [{}]",
                                         path, fmt::join(reader->shape("x"), ","), fmt::join(reader->shape("y"), ","),
                                         fmt::join(manifest_.x_shape, ","), fmt::join(manifest_.y_shape, ",")));
  readers_[s] = std::move(reader);
}

ShardReader& Dataset::shard(size_t s) {
  if (!readers_[s]) open_shard(s, /*verified=*/false);
  return *readers_[s];
}

void Dataset::open_shards_for(const std::vector<int64_t>& indices) {
  std::vector<size_t> todo;
  std::vector<bool> wanted(readers_.size(), false);
  for (int64_t i : indices) wanted[shard_of(i)] = true;
  for (size_t s = 0; s < readers_.size(); ++s)
    if (wanted[s] && !readers_[s]) todo.push_back(s);
  if (todo.empty()) return;
  if (verify_) {
    std::vector<std::string> paths;
    for (size_t s : todo) paths.push_back(shard_path(s));
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    auto crcs = util::files_crc32(paths, static_cast<int>(std::min(8u, cores)));
    for (size_t k = 0; k < todo.size(); ++k) check_crc(todo[k], crcs[k]);
  }
  for (size_t s : todo) open_shard(s, /*verified=*/true);
}

void Dataset::will_need(int64_t index) {
  const size_t s = shard_of(index);
  shard(s).will_need(index - shard_start_[s]);
}

void Dataset::read(int64_t index, torch::Tensor& x_out, torch::Tensor& y_out) {
  if (!x_out.is_contiguous() || !y_out.is_contiguous() || x_out.scalar_type() != torch::kFloat32 ||
      y_out.scalar_type() != torch::kFloat32)
    throw std::logic_error("Dataset::read: output tensors must be contiguous float32");
  const size_t s = shard_of(index);
  int64_t local = index - shard_start_[s];
  ShardReader& r = shard(s);
  r.read("x", local, read_sub_, x_out);
  r.read("y", local, read_sub_, y_out);
  for (auto [t, name] : {std::pair<torch::Tensor*, const char*>{&x_out, "x"}, {&y_out, "y"}}) {
    // x - x is 0 for a finite x and NaN for NaN or Inf, so the sum is 0 exactly when all are finite.
    const float* p = t->data_ptr<float>();
    float acc = 0.f;
    for (int64_t i = 0, n = t->numel(); i < n; ++i) acc += p[i] - p[i];
    if (acc != 0.f)  // NaN compares unequal too
      throw std::runtime_error(fmt::format("{}: /{} sample {} (dataset sample {}) contains NaN or Inf",
                                           (std::filesystem::path(dir_) / manifest_.shards[s].file).string(), name,
                                           local, index));
  }
  // The loss and the error are relative to the target's norm: an all-zero target has none.
  const float* py = y_out.data_ptr<float>();
  if (std::all_of(py, py + y_out.numel(), [](float v) { return v == 0.f; }))
    throw std::runtime_error(fmt::format(
        "{}: /y sample {} (dataset sample {}) is zero everywhere; the relative L2 loss and error divide by the "
        "target's norm, so every target must be non-zero somewhere (remove the sample)",
        (std::filesystem::path(dir_) / manifest_.shards[s].file).string(), local, index));
}

std::pair<torch::Tensor, torch::Tensor> Dataset::read_all() {
  auto xs = x_shape(), ys = y_shape();
  xs.insert(xs.begin(), size_);
  ys.insert(ys.begin(), size_);
  torch::Tensor x = torch::empty(xs), y = torch::empty(ys);
  for (int64_t i = 0; i < size_; ++i) {
    torch::Tensor xi = x[i], yi = y[i];
    read(i, xi, yi);
  }
  return {x, y};
}

}  // namespace fourmi::data
