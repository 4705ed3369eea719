#include "fourmi/data/manifest.h"

#include <fmt/format.h>

#include <filesystem>
#include <limits>
#include <stdexcept>

#include "fourmi/util/fs.h"

namespace fourmi::data {

std::string shard_file_name(const std::string& name, int index, int count) {
  return fmt::format("{}-{:05d}-of-{:05d}.h5", name, index, count);
}

nlohmann::json Manifest::to_json() const {
  nlohmann::json shards_json = nlohmann::json::array();
  for (const auto& s : shards)
    shards_json.push_back({{"file", s.file}, {"num_samples", s.num_samples}, {"crc32", s.crc32}});
  nlohmann::json levels_json = nlohmann::json::array();
  for (const auto& l : levels) levels_json.push_back({{"sub", l.sub}, {"dir", l.dir}});
  return {
      {"format", "fourmi-dataset"},
      {"version", kVersion},
      {"name", name},
      {"split", split},
      {"pde", pde},
      {"num_samples", num_samples},
      {"fields", {{"x", {{"shape", x_shape}, {"dtype", dtype}}}, {"y", {{"shape", y_shape}, {"dtype", dtype}}}}},
      {"shards", shards_json},
      {"stored_sub", stored_sub},
      {"levels", levels_json},
      {"generator", generator},
      {"normalization",
       {{"x", {{"mean", x_stats.mean}, {"std", x_stats.std}}}, {"y", {{"mean", y_stats.mean}, {"std", y_stats.std}}}}}};
}

Manifest Manifest::from_json(const nlohmann::json& j, const std::string& path) {
  auto need = [&](const nlohmann::json& obj, const char* key, const std::string& where) -> const nlohmann::json& {
    if (!obj.is_object() || !obj.contains(key))
      throw std::runtime_error(fmt::format("{}: manifest is missing '{}{}'", path, where, key));
    return obj.at(key);
  };
  Manifest m;
  try {
    if (need(j, "format", "").get<std::string>() != "fourmi-dataset")
      throw std::runtime_error(fmt::format("{}: 'format' is not 'fourmi-dataset'", path));
    int version = need(j, "version", "").get<int>();
    if (version != kVersion)
      throw std::runtime_error(
          fmt::format("{}: manifest version {} is not supported; accepted: {}", path, version, kVersion));
    m.name = need(j, "name", "").get<std::string>();
    m.split = need(j, "split", "").get<std::string>();
    m.pde = need(j, "pde", "").get<std::string>();
    m.num_samples = need(j, "num_samples", "").get<int64_t>();
    const auto& fields = need(j, "fields", "");
    m.x_shape = need(need(fields, "x", "fields."), "shape", "fields.x.").get<std::vector<int64_t>>();
    m.y_shape = need(need(fields, "y", "fields."), "shape", "fields.y.").get<std::vector<int64_t>>();
    m.dtype = need(need(fields, "x", "fields."), "dtype", "fields.x.").get<std::string>();
    if (m.dtype != "float32")
      throw std::runtime_error(
          fmt::format("{}: fields.x.dtype '{}' is not supported; accepted: float32", path, m.dtype));
    int64_t total = 0;
    for (const auto& s : need(j, "shards", "")) {
      ShardInfo info{need(s, "file", "shards[].").get<std::string>(),
                     need(s, "num_samples", "shards[].").get<int64_t>(),
                     need(s, "crc32", "shards[].").get<std::string>()};
      total += info.num_samples;
      m.shards.push_back(info);
    }
    if (total != m.num_samples)
      throw std::runtime_error(
          fmt::format("{}: shards hold {} samples but num_samples is {}", path, total, m.num_samples));
    m.stored_sub = j.value("stored_sub", 1);
    if (m.stored_sub < 1)
      throw std::runtime_error(fmt::format("{}: stored_sub {} is not a positive integer", path, m.stored_sub));
    for (const auto& l : j.value("levels", nlohmann::json::array())) {
      StoredLevel level{need(l, "sub", "levels[].").get<int>(), need(l, "dir", "levels[].").get<std::string>()};
      if (level.sub < 2 || level.dir.empty() || level.dir.find("..") != std::string::npos || level.dir.front() == '/')
        throw std::runtime_error(
            fmt::format("{}: levels[] entry (sub {}, dir '{}') is invalid; accepted: sub >= 2 and a "
                        "subdirectory of the dataset",
                        path, level.sub, level.dir));
      m.levels.push_back(level);
    }
    m.generator = j.value("generator", nlohmann::json::object());
    if (j.contains("normalization")) {
      // JSON has no NaN: statistics of data holding NaN are written as null and read back as NaN,
      // so the reader can still name the offending sample.
      auto numbers = [](const nlohmann::json& a) {
        std::vector<double> v;
        for (const auto& e : a) v.push_back(e.is_null() ? std::numeric_limits<double>::quiet_NaN() : e.get<double>());
        return v;
      };
      const auto& n = j.at("normalization");
      m.x_stats = {numbers(n.at("x").at("mean")), numbers(n.at("x").at("std"))};
      m.y_stats = {numbers(n.at("y").at("mean")), numbers(n.at("y").at("std"))};
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: malformed manifest: {}", path, e.what()));
  }
  return m;
}

Manifest Manifest::load(const std::string& dataset_dir) {
  std::string path = (std::filesystem::path(dataset_dir) / "manifest.json").string();
  if (!std::filesystem::exists(path))
    throw std::runtime_error(fmt::format(
        "{}: no dataset manifest here; generate one with `fourmi datagen` or check data.train / data.test", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(util::read_text(path));
  } catch (const nlohmann::json::exception& e) {  // syntax, and numbers out of range (found by fuzz_manifest)
    throw std::runtime_error(fmt::format("{}: manifest is not valid JSON: {}", path, e.what()));
  }
  return from_json(j, path);
}

void Manifest::save(const std::string& dataset_dir) const {
  util::atomic_write_text((std::filesystem::path(dataset_dir) / "manifest.json").string(), to_json().dump(2) + "\n");
}

}  // namespace fourmi::data
