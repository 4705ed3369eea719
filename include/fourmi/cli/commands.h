// commands.h — `fourmi <command>`: each command wires the areas together and holds no logic.
#pragma once

#include <string>
#include <vector>

namespace fourmi::cli {

struct CommonOptions {
  std::string config_path;              // empty: the embedded configs/debug.yaml
  std::vector<std::string> overrides;   // --set section.key=value
};

int run_train(const CommonOptions& opts, bool resume);
int run_eval(const CommonOptions& opts, const std::string& checkpoint);
int run_datagen(const CommonOptions& opts, const std::string& pde);
int run_info(const CommonOptions& opts);

}  // namespace fourmi::cli
