#include "fourmi/train/checkpoint.h"

#include <fmt/format.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "fourmi/util/fs.h"

namespace fourmi::train {

std::string save_checkpoint(const std::string& dir, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                            const CheckpointMeta& meta) {
  util::make_dirs(dir);
  std::string path = (std::filesystem::path(dir) / fmt::format("ckpt-{:06d}.pt", meta.epoch)).string();
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  torch::serialize::OutputArchive root, model_ar, optim_ar;
  model.save(model_ar);
  optimizer.save(optim_ar);
  root.write("model", model_ar);
  root.write("optimizer", optim_ar);
  root.write("epoch", torch::tensor(static_cast<int64_t>(meta.epoch)));
  root.write("rng_state", at::detail::getDefaultCPUGenerator().get_state());
  std::vector<uint8_t> bytes(meta.config_yaml.begin(), meta.config_yaml.end());
  root.write("config_yaml", torch::tensor(bytes, torch::kUInt8));
  root.save_to(tmp);
  util::commit_file(tmp, path);
  return path;
}

std::optional<std::string> latest_checkpoint(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) return std::nullopt;
  std::optional<std::string> best;
  static const std::regex pattern("ckpt-(\\d+)\\.pt");
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (std::regex_match(name, pattern) && (!best || name > std::filesystem::path(*best).filename().string()))
      best = e.path().string();
  }
  return best;
}

CheckpointMeta load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer) {
  torch::serialize::InputArchive root, model_ar, optim_ar;
  try {
    root.load_from(path);
    root.read("model", model_ar);
    model.load(model_ar);
    if (optimizer) {
      root.read("optimizer", optim_ar);
      optimizer->load(optim_ar);
    }
  } catch (const c10::Error& e) {
    throw std::runtime_error(fmt::format("{}: cannot load checkpoint (corrupt, or written for another model config): {}", path, e.what_without_backtrace()));
  }
  CheckpointMeta meta;
  torch::Tensor epoch, rng, cfg;
  root.read("epoch", epoch);
  root.read("rng_state", rng);
  root.read("config_yaml", cfg);
  meta.epoch = static_cast<int>(epoch.item<int64_t>());
  at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle to the default generator
  gen.set_state(rng);
  auto* p = cfg.data_ptr<uint8_t>();
  meta.config_yaml.assign(p, p + cfg.numel());
  return meta;
}

}  // namespace fourmi::train
