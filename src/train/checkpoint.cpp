#include "fourmi/train/checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/optim/adam.h>
#include <torch/torch.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "fourmi/config/config_loader.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/safetensors.h"

namespace fourmi::train {
namespace {

constexpr const char* kExtension = ".safetensors";

std::string shard_path(const std::string& main_path, int rank, int ranks) {
  std::string stem = main_path.substr(0, main_path.size() - std::string(kExtension).size());
  return fmt::format("{}.modes-{:03d}-of-{:03d}{}", stem, rank, ranks, kExtension);
}

torch::optim::AdamParamState* adam_state(torch::optim::Optimizer& opt, const torch::Tensor& p) {
  auto it = opt.state().find(p.unsafeGetTensorImpl());
  return it == opt.state().end() ? nullptr : static_cast<torch::optim::AdamParamState*>(it->second.get());
}

const char* dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat64:
      return "F64";
    case torch::kFloat32:
      return "F32";
    case torch::kBFloat16:
      return "BF16";
    case torch::kFloat16:
      return "F16";
    case torch::kInt64:
      return "I64";
    case torch::kInt32:
      return "I32";
    case torch::kUInt8:
      return "U8";
    case torch::kBool:
      return "BOOL";
    default:
      throw std::logic_error("checkpoint: no safetensors dtype for this tensor");
  }
}

torch::ScalarType scalar_type(const std::string& dtype) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"BF16", torch::kBFloat16}, {"F16", torch::kFloat16},
      {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"U8", torch::kUInt8},      {"BOOL", torch::kBool}};
  return types.at(dtype);  // the reader accepts only these
}

// A checkpoint file being assembled: CPU copies of the tensors, kept alive until written.
class CheckpointWriter {
 public:
  void add(const std::string& key, const torch::Tensor& t) {
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    kept_.push_back(c);
    writer_.add(key, dtype_name(c.scalar_type()), c.sizes().vec(), c.data_ptr(), c.numel() * c.element_size());
  }
  // Writes a parameter (or its block) with its Adam state under "<what>/<name>".
  void add_param(const std::string& name, const torch::Tensor& p, torch::optim::Optimizer& opt,
                 const models::ModeBlock* block) {
    add("param/" + name, p);
    if (block) add("block/" + name, torch::tensor({block->start, block->count, block->total}, torch::kInt64));
    if (auto* st = adam_state(opt, p)) {
      add("exp_avg/" + name, st->exp_avg());
      add("exp_avg_sq/" + name, st->exp_avg_sq());
      add("step/" + name, torch::tensor(st->step(), torch::kInt64));
    }
  }
  void set(const std::string& key, const std::string& value) { writer_.set_metadata(key, value); }
  // A write error (disk full, quota, I/O) is reported once with the path and errno; neither a
  // partial file nor a temporary one is left.
  void write(const std::string& path, const char* format = "fourmi-checkpoint",
             const char* what = "checkpoint (the previous checkpoint is kept)") {
    writer_.set_metadata("format", format);
    writer_.set_metadata("version", "1");
    writer_.write(path, what);
  }

 private:
  util::SafetensorsWriter writer_;
  std::vector<torch::Tensor> kept_;
};

// A checkpoint file being read: tensors by key, checked against their CRC-32 as they are read.
class CheckpointReader {
 public:
  explicit CheckpointReader(const std::string& path) : file_(path) {
    if (file_.metadata("format") != std::optional<std::string>("fourmi-checkpoint"))
      throw std::runtime_error(
          fmt::format("{}: not a fourmi checkpoint (its metadata has no format: "
                      "fourmi-checkpoint)",
                      path));
    if (file_.metadata("version") != std::optional<std::string>("1"))
      throw std::runtime_error(fmt::format("{}: checkpoint version '{}' is not supported; accepted: 1", path,
                                           file_.metadata("version").value_or("none")));
  }
  const std::string& path() const { return file_.path(); }
  bool try_read(const std::string& key, torch::Tensor& out) const {
    if (!file_.has(key)) return false;
    const util::SafetensorsEntry& e = file_.entry(key);
    out = torch::empty(e.shape, torch::TensorOptions().dtype(scalar_type(e.dtype)));
    file_.read(key, out.data_ptr(), e.end - e.begin);
    return true;
  }
  std::vector<std::string> keys() const { return file_.names(); }
  std::string text(const std::string& key) const {
    auto v = file_.metadata(key);
    if (!v) throw std::runtime_error(fmt::format("{}: checkpoint metadata has no '{}'", path(), key));
    return *v;
  }
  int64_t integer(const std::string& key) const {
    const std::string v = text(key);
    size_t used = 0;
    int64_t n = 0;
    try {
      n = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v.size() || v.empty() || n < 0)
      throw std::runtime_error(
          fmt::format("{}: checkpoint metadata '{}' is '{}', not a non-negative integer", path(), key, v));
    return n;
  }

 private:
  util::SafetensorsReader file_;
};

CheckpointMeta read_meta(const CheckpointReader& root) {
  CheckpointMeta meta;
  const int64_t epoch = root.integer("epoch"), step = root.integer("epoch_step");
  if (epoch > INT32_MAX || step > INT32_MAX)
    throw std::runtime_error(fmt::format("{}: epoch {} / step {} out of range", root.path(), epoch, step));
  meta.epoch = static_cast<int>(epoch);
  meta.step = static_cast<int>(step);
  const std::string loss = root.text("epoch_loss_sum");
  char* end = nullptr;
  meta.epoch_loss_sum = std::strtod(loss.c_str(), &end);
  if (loss.empty() || end != loss.c_str() + loss.size())
    throw std::runtime_error(
        fmt::format("{}: checkpoint metadata 'epoch_loss_sum' is '{}', not a number", root.path(), loss));
  meta.config_yaml = root.text("config_yaml");
  return meta;
}

}  // namespace

std::string save_checkpoint(const std::string& dir, models::FNOImpl& model, torch::optim::Optimizer& optimizer,
                            const CheckpointMeta& meta) {
  util::make_dirs(dir);
  const std::string path = (std::filesystem::path(dir) / checkpoint_file_name(meta.epoch, meta.step)).string();
  const models::ModeGroup& group = model.mode_group();
  const std::map<std::string, models::ModeBlock> partitioned = model.mode_partitioned();
  CheckpointWriter ar;
  for (const auto& item : model.named_parameters()) {
    auto it = partitioned.find(item.key());
    if (it != partitioned.end())
      ar.add_param(item.key(), item.value(), optimizer, &it->second);
    else if (group.rank() == 0)
      ar.add_param(item.key(), item.value(), optimizer, nullptr);
  }
  ar.set("mode_ranks", std::to_string(group.size()));
  ar.set("epoch", std::to_string(meta.epoch));
  ar.set("epoch_step", std::to_string(meta.step));
  if (group.rank() > 0) ar.write(shard_path(path, group.rank(), group.size()));
  if (group.comm) group.comm->barrier();  // every shard is on disk before the main file appears
  if (group.rank() == 0) {
    ar.set("epoch_loss_sum", fmt::format("{:.17g}", meta.epoch_loss_sum));
    ar.add("rng_state", at::detail::getDefaultCPUGenerator().get_state());
    ar.set("config_yaml", meta.config_yaml);
    ar.write(path);
  }
  return path;
}

std::string checkpoint_file_name(int epoch, int step) {
  return step > 0 ? fmt::format("ckpt-{:06d}.step-{:06d}{}", epoch, step, kExtension)
                  : fmt::format("ckpt-{:06d}{}", epoch, kExtension);
}

std::optional<std::pair<int, int>> checkpoint_position(const std::string& path) {
  static const std::regex pattern("ckpt-(\\d+)(?:\\.step-(\\d+))?\\.safetensors");
  std::smatch m;
  const std::string name = std::filesystem::path(path).filename().string();
  if (!std::regex_match(name, m, pattern)) return std::nullopt;
  return std::make_pair(std::stoi(m[1].str()), m[2].matched ? std::stoi(m[2].str()) : 0);
}

std::optional<std::string> latest_checkpoint(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) return std::nullopt;
  std::optional<std::string> best;
  std::pair<int, int> best_at{-1, -1};
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    auto at = checkpoint_position(e.path().string());
    if (at && *at > best_at) {
      best_at = *at;
      best = e.path().string();
    }
  }
  return best;
}

CheckpointMeta read_checkpoint_meta(const std::string& path) { return read_meta(CheckpointReader(path)); }

std::string parameter_digest(models::FNOImpl& model) {
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (const auto& item : model.named_parameters()) params.emplace_back(item.key(), item.value());
  std::sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string bytes;
  for (const auto& [name, p] : params) {
    torch::Tensor t = p.detach().to(torch::kCPU).contiguous();
    bytes += fmt::format("{}[{}]:", name, fmt::join(t.sizes(), ","));
    bytes.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  }
  return util::bytes_crc32(bytes.data(), bytes.size());
}

namespace {

// Fills this rank's parameters and Adam moments from `root` and the mode shards.
void load_parameters(const CheckpointReader& root, const std::vector<std::unique_ptr<CheckpointReader>>& shards,
                     models::FNOImpl& model, torch::optim::Optimizer* optimizer) {
  const std::string& path = root.path();
  const std::map<std::string, models::ModeBlock> partitioned = model.mode_partitioned();
  std::set<std::string> expected;
  for (const auto& item : model.named_parameters()) expected.insert(item.key());
  for (const std::string& key : root.keys())
    if (key.rfind("param/", 0) == 0 && !expected.count(key.substr(6)))
      throw std::runtime_error(fmt::format(
          "{}: holds parameter '{}', which this model does not have (the checkpoint was written for another model "
          "config; build the model from the checkpoint's config)",
          path, key.substr(6)));
  torch::NoGradGuard no_grad;
  for (const auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor p = item.value();
    torch::Tensor value = torch::empty_like(p, torch::kCPU), m1 = torch::zeros_like(value),
                  m2 = torch::zeros_like(value);
    int64_t step = -1;
    // Copies `rows` rows from `src_row` of the file's tensors (all of them when rows < 0).
    auto take = [&](const CheckpointReader& ar, int64_t dst_row, int64_t src_row, int64_t rows) {
      const std::string& source = ar.path();
      torch::Tensor t, a, b, s;
      if (!ar.try_read("param/" + name, t))
        throw std::runtime_error(
            fmt::format("{}: no parameter '{}' (written for another model config?)", source, name));
      if (t.dim() != p.dim() || t.sizes().slice(1) != p.sizes().slice(1) || (rows < 0 && t.sizes() != p.sizes()) ||
          (rows >= 0 && src_row + rows > t.size(0)))
        throw std::runtime_error(
            fmt::format("{}: parameter '{}' has shape [{}], the model expects [{}] (another model config?)", source,
                        name, fmt::join(t.sizes(), ","), fmt::join(p.sizes(), ",")));
      if (rows < 0) rows = t.size(0), dst_row = src_row = 0;
      value.narrow(0, dst_row, rows).copy_(t.narrow(0, src_row, rows));
      if (ar.try_read("exp_avg/" + name, a) && ar.try_read("exp_avg_sq/" + name, b) && ar.try_read("step/" + name, s)) {
        if (a.sizes() != t.sizes() || b.sizes() != t.sizes() || s.numel() != 1 || s.scalar_type() != torch::kInt64)
          throw std::runtime_error(
              fmt::format("{}: the Adam state of '{}' does not match the parameter", source, name));
        m1.narrow(0, dst_row, rows).copy_(a.narrow(0, src_row, rows));
        m2.narrow(0, dst_row, rows).copy_(b.narrow(0, src_row, rows));
        step = s.item<int64_t>();
      }
    };
    auto it = partitioned.find(name);
    if (it == partitioned.end()) {
      take(root, 0, 0, -1);
    } else {
      const models::ModeBlock& mine = it->second;
      int64_t covered = 0;
      auto from = [&](const CheckpointReader& ar) {
        torch::Tensor blk;
        if (!ar.try_read("block/" + name, blk))
          throw std::runtime_error(fmt::format("{}: no mode block for '{}'", ar.path(), name));
        if (blk.numel() != 3 || blk.scalar_type() != torch::kInt64)
          throw std::runtime_error(
              fmt::format("{}: the mode block of '{}' is not (start, count, total)", ar.path(), name));
        const int64_t start = blk[0].item<int64_t>(), count = blk[1].item<int64_t>(), total = blk[2].item<int64_t>();
        if (total != mine.total)
          throw std::runtime_error(fmt::format("{}: '{}' has {} retained modes, the model {} (another model.modes?)",
                                               ar.path(), name, total, mine.total));
        if (start < 0 || count < 0 || start > total - count)
          throw std::runtime_error(fmt::format("{}: the mode block of '{}' ({}, {}) lies outside its {} modes",
                                               ar.path(), name, start, count, total));
        const int64_t lo = std::max(start, mine.start), hi = std::min(start + count, mine.start + mine.count);
        if (hi > lo) {
          take(ar, lo - mine.start, lo - start, hi - lo);
          covered += hi - lo;
        }
      };
      from(root);
      for (const auto& ar : shards) from(*ar);
      if (covered != mine.count)
        throw std::runtime_error(fmt::format("{}: the shards cover {} of the {} modes of '{}' this rank needs", path,
                                             covered, mine.count, name));
    }
    p.copy_(value);
    if (optimizer && step >= 0) {
      auto st = std::make_unique<torch::optim::AdamParamState>();
      st->step(step);
      st->exp_avg(m1.to(p.device()));
      st->exp_avg_sq(m2.to(p.device()));
      optimizer->state()[p.unsafeGetTensorImpl()] = std::move(st);
    }
  }
}

}  // namespace

CheckpointMeta load_checkpoint(const std::string& path, models::FNOImpl& model, torch::optim::Optimizer* optimizer) {
  const CheckpointReader root(path);
  const CheckpointMeta meta = read_meta(root);
  const int64_t mode_ranks = root.integer("mode_ranks");
  if (mode_ranks < 1 || mode_ranks > 65536)
    throw std::runtime_error(fmt::format("{}: mode_ranks {} is out of range", path, mode_ranks));
  std::vector<std::unique_ptr<CheckpointReader>> shards;
  for (int64_t r = 1; r < mode_ranks; ++r) {
    std::string sp = shard_path(path, static_cast<int>(r), static_cast<int>(mode_ranks));
    if (!std::filesystem::exists(sp))
      throw std::runtime_error(fmt::format(
          "{}: mode shard {} of {} is missing ({}); a checkpoint written with parallel.modes = {} needs all of them",
          path, r, mode_ranks, sp, mode_ranks));
    shards.push_back(std::make_unique<CheckpointReader>(sp));
  }
  try {
    load_parameters(root, shards, model, optimizer);
    torch::Tensor rng;
    if (!root.try_read("rng_state", rng)) throw std::runtime_error(fmt::format("{}: no rng_state", path));
    at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle to the default generator
    gen.set_state(rng);
  } catch (const c10::Error& e) {  // LibTorch refusing a value read from the file
    throw std::runtime_error(fmt::format("{}: cannot load: {}", path, e.what_without_backtrace()));
  }
  return meta;
}

std::string architecture_json(const config::Config& config) {
  const config::ModelConfig& m = config.model;
  nlohmann::json j = {{"name", m.name},
                      {"dim", m.dim},
                      {"in_channels", m.in_channels},
                      {"out_channels", m.out_channels},
                      {"width", m.width},
                      {"modes", m.modes},
                      {"layers", m.layers},
                      {"projection_width", m.projection_width},
                      {"grid_embedding", m.grid_embedding},
                      {"padding", m.padding},
                      {"rollout_steps", m.rollout_steps},
                      {"normalize", config::name_of(config.data.normalize)}};
  return j.dump();
}

void export_model(const std::string& path, models::FNOImpl& model, const config::Config& config,
                  const data::Normalizer& x, const data::Normalizer& y, const std::string& source_checkpoint,
                  int epoch) {
  if (model.mode_group().size() > 1)
    throw std::logic_error("export_model: the model holds one mode block of " +
                           std::to_string(model.mode_group().size()) + "; export from one process");
  CheckpointWriter out;
  for (const auto& item : model.named_parameters()) out.add("param/" + item.key(), item.value());
  for (const auto& [name, n] : {std::pair<const char*, const data::Normalizer*>{"x", &x}, {"y", &y}}) {
    if (n->identity()) continue;
    out.add(fmt::format("normalizer/{}_mean", name), n->mean());
    out.add(fmt::format("normalizer/{}_std", name), n->std());
  }
  out.set("architecture", architecture_json(config));
  out.set("config_yaml", config::to_yaml(config));
  out.set("source_checkpoint", source_checkpoint);
  out.set("epoch", std::to_string(epoch));
  out.write(path, "fourmi-model", "exported model");
}

}  // namespace fourmi::train
