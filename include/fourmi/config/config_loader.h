// config_loader.h — YAML → Config with validation, --set overrides, and the way back.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fourmi/config/config.h"

namespace fourmi::config {

// Raised for any invalid configuration; what() names the source (file:line or
// the --set override), the key path and what is accepted.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Loads `path`, applies `overrides` ("train.lr=5e-4"), validates every key.
Config load_config_file(const std::string& path, const std::vector<std::string>& overrides = {});
// Same, from YAML text; `source` names it in error messages.
Config load_config_text(const std::string& text, const std::string& source,
                        const std::vector<std::string>& overrides = {});
// The embedded default (configs/debug.yaml compiled into the binary).
const std::string& embedded_default_config();

// The resolved config as YAML that load_config_text accepts back unchanged.
std::string to_yaml(Config config);
// Flattened "section.key" → value rows, for the start-up table.
std::vector<std::pair<std::string, std::string>> to_rows(Config config);
// A fixed-width table of to_rows.
std::string format_table(const Config& config);

// The keys that define a trained model: every model.* key except model.spectral_transform (how
// the layers compute, not what), and data.normalize (the normalisation its weights expect).
bool defines_trained_model(const std::string& key);
struct KeyDifference {
  std::string key, a, b;
};
// The keys defining a trained model on which `a` and `b` differ, in to_rows order.
std::vector<KeyDifference> trained_model_differences(const Config& a, const Config& b);
// `config` with the keys defining a trained model taken from `model_source`.
Config with_trained_model_of(Config config, const Config& model_source);

}  // namespace fourmi::config
