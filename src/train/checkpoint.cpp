#include "fourmi/train/checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/optim/adam.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "fourmi/util/fs.h"

namespace fourmi::train {
namespace {

std::string shard_path(const std::string& main_path, int rank, int ranks) {
  std::string stem = main_path.substr(0, main_path.size() - 3);  // drop ".pt"
  return fmt::format("{}.modes-{:03d}-of-{:03d}.pt", stem, rank, ranks);
}

torch::optim::AdamParamState* adam_state(torch::optim::Optimizer& opt, const torch::Tensor& p) {
  auto it = opt.state().find(p.unsafeGetTensorImpl());
  return it == opt.state().end() ? nullptr : static_cast<torch::optim::AdamParamState*>(it->second.get());
}

// Writes a parameter (or its block) with its Adam state under "<what>/<name>".
void write_param(torch::serialize::OutputArchive& ar, const std::string& name, const torch::Tensor& p,
                 torch::optim::Optimizer& opt, const models::ModeBlock* block) {
  ar.write("param/" + name, p.detach().cpu());
  if (block) ar.write("block/" + name, torch::tensor({block->start, block->count, block->total}, torch::kInt64));
  if (auto* st = adam_state(opt, p)) {
    ar.write("exp_avg/" + name, st->exp_avg().cpu());
    ar.write("exp_avg_sq/" + name, st->exp_avg_sq().cpu());
    ar.write("step/" + name, torch::tensor(st->step(), torch::kInt64));
  }
}

// Streams the archive through an AtomicFile: a write error (disk full, quota, I/O) is reported
// once with the path and errno, and neither a partial file nor a temporary one is left.
void save_archive(torch::serialize::OutputArchive& ar, const std::string& path) {
  util::AtomicFile file(path);
  ar.save_to([&file](const void* data, size_t size) -> size_t {
    file.write(data, size);
    return size;  // errors are reported by commit(), not inside LibTorch's writer
  });
  file.commit("checkpoint (the previous checkpoint is kept)");
}

torch::serialize::InputArchive open_archive(const std::string& path) {
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(path);
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("{}: cannot read checkpoint (corrupt or not a fourmi checkpoint): {}", path,
                                         e.what_without_backtrace()));
  }
  return ar;
}

CheckpointMeta read_meta(torch::serialize::InputArchive& root, const std::string& path) {
  CheckpointMeta meta;
  torch::Tensor epoch, cfg, step, loss;
  if (!root.try_read("epoch", epoch) || !root.try_read("config_yaml", cfg))
    throw std::runtime_error(fmt::format("{}: not a fourmi checkpoint (no 'epoch' or 'config_yaml')", path));
  meta.epoch = static_cast<int>(epoch.item<int64_t>());
  if (root.try_read("epoch_step", step)) meta.step = static_cast<int>(step.item<int64_t>());
  if (root.try_read("epoch_loss_sum", loss)) meta.epoch_loss_sum = loss.item<double>();
  auto* c = cfg.data_ptr<uint8_t>();
  meta.config_yaml.assign(c, c + cfg.numel());
  return meta;
}

}  // namespace

std::string save_checkpoint(const std::string& dir, models::FNOImpl& model, torch::optim::Optimizer& optimizer,
                            const CheckpointMeta& meta) {
  util::make_dirs(dir);
  const std::string path = (std::filesystem::path(dir) / checkpoint_file_name(meta.epoch, meta.step)).string();
  const models::ModeGroup& group = model.mode_group();
  const std::map<std::string, models::ModeBlock> partitioned = model.mode_partitioned();
  torch::serialize::OutputArchive ar;
  for (const auto& item : model.named_parameters()) {
    auto it = partitioned.find(item.key());
    if (it != partitioned.end())
      write_param(ar, item.key(), item.value(), optimizer, &it->second);
    else if (group.rank() == 0)
      write_param(ar, item.key(), item.value(), optimizer, nullptr);
  }
  if (group.rank() > 0) save_archive(ar, shard_path(path, group.rank(), group.size()));
  if (group.comm) group.comm->barrier();  // every shard is on disk before the main file appears
  if (group.rank() == 0) {
    ar.write("mode_ranks", torch::tensor(static_cast<int64_t>(group.size())));
    ar.write("epoch", torch::tensor(static_cast<int64_t>(meta.epoch)));
    ar.write("epoch_step", torch::tensor(static_cast<int64_t>(meta.step)));
    ar.write("epoch_loss_sum", torch::tensor(meta.epoch_loss_sum, torch::kFloat64));
    ar.write("rng_state", at::detail::getDefaultCPUGenerator().get_state());
    std::vector<uint8_t> bytes(meta.config_yaml.begin(), meta.config_yaml.end());
    ar.write("config_yaml", torch::tensor(bytes, torch::kUInt8));
    save_archive(ar, path);
  }
  return path;
}

std::string checkpoint_file_name(int epoch, int step) {
  return step > 0 ? fmt::format("ckpt-{:06d}.step-{:06d}.pt", epoch, step) : fmt::format("ckpt-{:06d}.pt", epoch);
}

std::optional<std::pair<int, int>> checkpoint_position(const std::string& path) {
  static const std::regex pattern("ckpt-(\\d+)(?:\\.step-(\\d+))?\\.pt");
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

CheckpointMeta read_checkpoint_meta(const std::string& path) {
  torch::serialize::InputArchive root = open_archive(path);
  return read_meta(root, path);
}

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

CheckpointMeta load_checkpoint(const std::string& path, models::FNOImpl& model, torch::optim::Optimizer* optimizer) {
  torch::serialize::InputArchive root = open_archive(path);
  std::vector<std::pair<std::string, std::unique_ptr<torch::serialize::InputArchive>>> shards;
  int64_t mode_ranks = 1;
  try {
    torch::Tensor m;
    root.read("mode_ranks", m);
    mode_ranks = m.item<int64_t>();
    for (int64_t r = 1; r < mode_ranks; ++r) {
      std::string sp = shard_path(path, static_cast<int>(r), static_cast<int>(mode_ranks));
      if (!std::filesystem::exists(sp))
        throw std::runtime_error(fmt::format(
            "{}: mode shard {} of {} is missing ({}); a checkpoint written with parallel.modes = {} needs all of them",
            path, r, mode_ranks, sp, mode_ranks));
      shards.emplace_back(sp, std::make_unique<torch::serialize::InputArchive>(open_archive(sp)));
    }
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("{}: cannot read checkpoint (corrupt or not a fourmi checkpoint): {}", path,
                                         e.what_without_backtrace()));
  }
  const std::map<std::string, models::ModeBlock> partitioned = model.mode_partitioned();
  {
    std::set<std::string> expected;
    for (const auto& item : model.named_parameters()) expected.insert(item.key());
    for (const std::string& key : root.keys())
      if (key.rfind("param/", 0) == 0 && !expected.count(key.substr(6)))
        throw std::runtime_error(fmt::format(
            "{}: holds parameter '{}', which this model does not have (the checkpoint was written for another model "
            "config; build the model from the checkpoint's config)",
            path, key.substr(6)));
  }
  torch::NoGradGuard no_grad;
  for (const auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor p = item.value();
    torch::Tensor value = torch::empty_like(p, torch::kCPU), m1 = torch::zeros_like(value),
                  m2 = torch::zeros_like(value);
    int64_t step = -1;
    auto take = [&](torch::serialize::InputArchive& ar, const std::string& source, int64_t dst_row, int64_t src_row,
                    int64_t rows) {
      torch::Tensor t, a, b, s;
      if (!ar.try_read("param/" + name, t))
        throw std::runtime_error(
            fmt::format("{}: no parameter '{}' (written for another model config?)", source, name));
      if (t.dim() != p.dim() || t.sizes().slice(1) != p.sizes().slice(1) || (rows < 0 && t.sizes() != p.sizes()))
        throw std::runtime_error(
            fmt::format("{}: parameter '{}' has shape [{}], the model expects [{}] (another model config?)", source,
                        name, fmt::join(t.sizes(), ","), fmt::join(p.sizes(), ",")));
      if (rows < 0) rows = t.size(0), dst_row = src_row = 0;
      value.narrow(0, dst_row, rows).copy_(t.narrow(0, src_row, rows));
      if (ar.try_read("exp_avg/" + name, a) && ar.try_read("exp_avg_sq/" + name, b) && ar.try_read("step/" + name, s)) {
        m1.narrow(0, dst_row, rows).copy_(a.narrow(0, src_row, rows));
        m2.narrow(0, dst_row, rows).copy_(b.narrow(0, src_row, rows));
        step = s.item<int64_t>();
      }
    };
    auto it = partitioned.find(name);
    if (it == partitioned.end()) {
      take(root, path, 0, 0, -1);
    } else {
      const models::ModeBlock& mine = it->second;
      int64_t covered = 0;
      auto from = [&](torch::serialize::InputArchive& ar, const std::string& source) {
        torch::Tensor blk;
        if (!ar.try_read("block/" + name, blk))
          throw std::runtime_error(fmt::format("{}: no mode block for '{}'", source, name));
        const int64_t start = blk[0].item<int64_t>(), count = blk[1].item<int64_t>(), total = blk[2].item<int64_t>();
        if (total != mine.total)
          throw std::runtime_error(fmt::format("{}: '{}' has {} retained modes, the model {} (another model.modes?)",
                                               source, name, total, mine.total));
        const int64_t lo = std::max(start, mine.start), hi = std::min(start + count, mine.start + mine.count);
        if (hi > lo) {
          take(ar, source, lo - mine.start, lo - start, hi - lo);
          covered += hi - lo;
        }
      };
      from(root, path);
      for (auto& [sp, ar] : shards) from(*ar, sp);
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
  CheckpointMeta meta = read_meta(root, path);
  torch::Tensor rng;
  root.read("rng_state", rng);
  at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle to the default generator
  gen.set_state(rng);
  return meta;
}

}  // namespace fourmi::train
