// fuzz_config.cpp — libFuzzer harness of the YAML config loader with --set overrides.
// Input: YAML text; the lines after a line "--set" are overrides ("section.key=value").
// Accepted outcomes: a config (which must round-trip through to_yaml unchanged) or a ConfigError.
// Anything else escaping (another exception, a crash, a sanitizer report) is a finding.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "fourmi/config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string yaml;
  std::vector<std::string> overrides;
  const auto at = input.find("\n--set\n");
  yaml = input.substr(0, at);
  if (at != std::string::npos) {
    std::istringstream rest(input.substr(at + 7));
    for (std::string line; std::getline(rest, line);) overrides.push_back(line);
  }
  try {
    const fourmi::config::Config c = fourmi::config::load_config_text(yaml, "fuzz.yaml", overrides);
    const std::string once = fourmi::config::to_yaml(c);
    const std::string twice = fourmi::config::to_yaml(fourmi::config::load_config_text(once, "round trip"));
    if (once != twice) std::abort();  // the written config must load back unchanged
  } catch (const fourmi::config::ConfigError&) {
  }
  return 0;
}
