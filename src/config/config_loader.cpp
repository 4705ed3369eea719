// config_loader.cpp — visitors over schema.h: load+validate, emit YAML, flatten to rows.
#include "fourmi/config/config_loader.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "fourmi/config/schema.h"

namespace fourmi::config {
namespace {

template <class T>
std::string type_name() {
  if constexpr (std::is_enum_v<T>) {
    std::string s = "one of";
    for (const auto& [value, name] : EnumTable<T>::values) s += fmt::format(" '{}'", name);
    return s;
  } else if constexpr (std::is_same_v<T, int>)
    return "an integer";
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return "a non-negative integer";
  else if constexpr (std::is_same_v<T, double>)
    return "a number";
  else if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_same_v<T, std::string>)
    return "a string";
  else if constexpr (std::is_same_v<T, std::vector<int>>)
    return "an integer or a list of integers";
  else if constexpr (std::is_same_v<T, AutoCount>)
    return "'auto' or an integer >= 1";
  else if constexpr (std::is_same_v<T, AutoAmount>)
    return "'auto' or a number >= 0";
}

std::string scalar_of(const YAML::Node& n) {
  if (!n.IsScalar()) throw YAML::BadConversion(n.Mark());
  return n.as<std::string>();
}

template <class T>
T convert(const YAML::Node& n) {
  if constexpr (std::is_enum_v<T>) {
    const std::string word = scalar_of(n);
    for (const auto& [value, name] : EnumTable<T>::values)
      if (word == name) return value;
    throw YAML::BadConversion(n.Mark());
  } else if constexpr (std::is_same_v<T, std::string>) {
    return scalar_of(n);
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    if (n.IsScalar()) return {n.as<int>()};
    return n.as<std::vector<int>>();
  } else if constexpr (std::is_same_v<T, AutoCount>) {
    if (scalar_of(n) == "auto") return AutoCount{};
    const int v = n.as<int>();
    if (v < 1) throw YAML::BadConversion(n.Mark());
    return AutoCount{v};
  } else if constexpr (std::is_same_v<T, AutoAmount>) {
    if (scalar_of(n) == "auto") return AutoAmount{};
    const double v = n.as<double>();
    if (!(v >= 0)) throw YAML::BadConversion(n.Mark());
    return AutoAmount{v};
  } else {
    return n.as<T>();
  }
}

// The top-level section names, read off the schema so that no list is kept twice.
struct SectionNames {
  std::vector<std::string> names;
  template <class T, class R = int>
  void operator()(const char*, T&, R = {}) {}
  template <class S>
  void section(const char* key, S&) {
    names.push_back(key);
  }
};

std::vector<std::string> top_level_sections() {
  Config c;
  SectionNames v;
  describe(v, c);
  return v.names;
}

// Walks the YAML tree alongside the schema; records which keys were consumed.
class Loader {
 public:
  Loader(std::string source, std::map<std::string, std::string> override_sources)
      : source_(std::move(source)), override_sources_(std::move(override_sources)) {}

  void load(const YAML::Node& root, Config& config) {
    if (root && !root.IsNull() && !root.IsMap())
      fail("", root, "the top level must be a mapping of sections (run, data, model, train, ...)");
    node_.reset(root);  // yaml-cpp: operator= would overwrite the referenced node; reset() rebinds
    describe(*this, config);
    check_unknown(root, "", top_level_sections());
  }

  template <class T>
  void operator()(const char* key, T& field, Rule<T> rule = {}) {
    keys_.push_back(key);
    if (!node_ || !node_.IsMap()) return;
    YAML::Node n = node_[key];
    if (!n) return;
    std::string path = join(key);
    try {
      field = convert<T>(n);
    } catch (const YAML::Exception&) {
      fail(path, n, fmt::format("expected {}, got '{}'", type_name<T>(), YAML::Dump(n)));
    }
    if (rule) {
      std::string accepted = rule(field);
      if (!accepted.empty())
        fail(path, n, fmt::format("value '{}' is out of range; accepted: {}", YAML::Dump(n), accepted));
    }
  }

  template <class S>
  void section(const char* key, S& sub) {
    keys_.push_back(key);
    YAML::Node parent = node_;
    std::vector<std::string> parent_keys;
    std::swap(parent_keys, keys_);
    std::string parent_prefix = prefix_;
    prefix_ = join(key);
    YAML::Node n = (parent && parent.IsMap()) ? parent[key] : YAML::Node();
    if (n && !n.IsNull() && !n.IsMap()) fail(prefix_, n, "expected a mapping of keys");
    node_.reset(n);
    describe(*this, sub);
    if (n && n.IsMap()) check_unknown(n, prefix_, keys_);
    node_.reset(parent);
    prefix_ = parent_prefix;
    keys_ = parent_keys;
  }

 private:
  std::string join(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

  void check_unknown(const YAML::Node& n, const std::string& prefix, const std::vector<std::string>& known) {
    for (const auto& kv : n) {
      std::string k = kv.first.as<std::string>();
      bool ok = false;
      for (const auto& kk : known) ok = ok || kk == k;
      if (!ok) {
        std::string accepted;
        for (const auto& kk : known) accepted += (accepted.empty() ? "" : ", ") + kk;
        std::string path = prefix.empty() ? k : prefix + "." + k;
        fail(path, kv.first,
             fmt::format("unknown key '{}'; accepted keys{}: {}", path, prefix.empty() ? "" : " in '" + prefix + "'",
                         accepted));
      }
    }
  }

  [[noreturn]] void fail(const std::string& path, const YAML::Node& n, const std::string& what) const {
    // An override replaces the node, so name the override rather than a file line.
    for (const auto& [p, text] : override_sources_)
      if (!path.empty() && (path == p || path.rfind(p + ".", 0) == 0 || p.rfind(path + ".", 0) == 0))
        throw ConfigError(fmt::format("{}: key '{}' (from --set {}): {}", source_, path, text, what));
    int line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
    throw ConfigError(fmt::format("{}:{}: key '{}': {}", source_, line, path.empty() ? "<root>" : path, what));
  }

  std::string source_;
  std::map<std::string, std::string> override_sources_;
  YAML::Node node_;
  std::string prefix_;
  std::vector<std::string> keys_;
};

template <class T>
std::string scalar_text(const T& v) {
  if constexpr (std::is_enum_v<T>)
    return name_of(v);
  else if constexpr (std::is_same_v<T, AutoCount>)
    return v.is_auto() ? "auto" : std::to_string(v.value);
  else if constexpr (std::is_same_v<T, AutoAmount>)
    return v.is_auto() ? "auto" : fmt::format("{}", v.value);
  else if constexpr (std::is_same_v<T, std::string>)
    return v;
  else if constexpr (std::is_same_v<T, bool>)
    return v ? "true" : "false";
  else if constexpr (std::is_same_v<T, double>)
    return fmt::format("{}", v);
  else if constexpr (std::is_same_v<T, std::vector<int>>) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
  } else
    return std::to_string(v);
}

class Emitter {
 public:
  explicit Emitter(YAML::Emitter& out) : out_(out) {}
  template <class T>
  void operator()(const char* key, T& field, Rule<T> = {}) {
    out_ << YAML::Key << key << YAML::Value;
    if constexpr (std::is_same_v<T, std::vector<int>>) {
      out_ << YAML::Flow << YAML::BeginSeq;
      for (int x : field) out_ << x;
      out_ << YAML::EndSeq;
    } else if constexpr (std::is_same_v<T, std::string>) {
      out_ << YAML::DoubleQuoted << field;
    } else if constexpr (std::is_same_v<T, double>) {
      out_ << fmt::format("{}", field);
    } else if constexpr (std::is_enum_v<T> || std::is_same_v<T, AutoCount> || std::is_same_v<T, AutoAmount>) {
      out_ << scalar_text(field);
    } else {
      out_ << field;
    }
  }
  template <class S>
  void section(const char* key, S& sub) {
    out_ << YAML::Key << key << YAML::Value << YAML::BeginMap;
    describe(*this, sub);
    out_ << YAML::EndMap;
  }

 private:
  YAML::Emitter& out_;
};

class Rows {
 public:
  std::vector<std::pair<std::string, std::string>> rows;
  template <class T>
  void operator()(const char* key, T& field, Rule<T> = {}) {
    rows.emplace_back(prefix_ + key, scalar_text(field));
  }
  template <class S>
  void section(const char* key, S& sub) {
    std::string saved = prefix_;
    prefix_ += std::string(key) + ".";
    describe(*this, sub);
    prefix_ = saved;
  }

 private:
  std::string prefix_;
};

void apply_override(YAML::Node& root, const std::string& text, const std::string& source,
                    std::map<std::string, std::string>& sources) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(
        fmt::format("{}: --set '{}' must have the form section.key=value (e.g. train.lr=5e-4)", source, text));
  std::string path = text.substr(0, eq);
  std::string value = text.substr(eq + 1);
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) {
    if (p.empty()) throw ConfigError(fmt::format("{}: --set '{}': empty key in path '{}'", source, text, path));
    parts.push_back(p);
  }
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  // Walk with fresh handles: yaml-cpp node assignment rebinds rather than copies.
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (!next || next.IsNull())
      chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
    else if (!next.IsMap())
      throw ConfigError(fmt::format("{}: --set '{}': '{}' is not a section", source, text, parts[i]));
    chain.push_back(chain.back()[parts[i]]);
  }
  YAML::Node v;
  try {
    v = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}: --set '{}': value is not valid YAML: {}", source, text, e.msg));
  }
  chain.back()[parts.back()] = v;
  sources[path] = text;
}

}  // namespace

Config load_config_text(const std::string& text, const std::string& source, const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(fmt::format("{}:{}: YAML syntax error: {}", source, e.mark.line + 1, e.msg));
  }
  if (root && !root.IsNull() && !root.IsMap())
    throw ConfigError(
        fmt::format("{}:{}: a config is a mapping of sections (run:, data:, model:, train:, ...), not a {}", source,
                    root.Mark().line + 1, root.IsSequence() ? "list" : "single value"));
  std::map<std::string, std::string> override_sources;
  Config config;
  try {
    for (const auto& o : overrides) apply_override(root, o, source, override_sources);
    Loader loader(source, override_sources);
    loader.load(root, config);
  } catch (const YAML::Exception& e) {  // a node of an unexpected kind, e.g. a key that is a list (found by fuzzing)
    throw ConfigError(fmt::format("{}:{}: not a fourmi config: {}", source, e.mark.line + 1, e.msg));
  }
  // Cross-field checks.
  auto& m = config.model;
  if (static_cast<int>(m.modes.size()) != 1 && static_cast<int>(m.modes.size()) != m.dim)
    throw ConfigError(
        fmt::format("{}: key 'model.modes': has {} entries but model.dim is {}; accepted: one value or {} values",
                    source, m.modes.size(), m.dim, m.dim));
  if (m.modes.size() == 1) m.modes.assign(m.dim, m.modes[0]);
  if (config.train.batch_size % config.train.grad_accum != 0)
    throw ConfigError(fmt::format(
        "{}: key 'train.grad_accum': {} does not divide train.batch_size {}; accepted: a divisor of the batch size",
        source, config.train.grad_accum, config.train.batch_size));
  return config;
}

Config load_config_file(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot open config file (check the path given with --config)", path));
  std::stringstream buf;
  buf << in.rdbuf();
  return load_config_text(buf.str(), path, overrides);
}

std::string to_yaml(Config config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  Emitter e(out);
  describe(e, config);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<std::pair<std::string, std::string>> to_rows(Config config) {
  Rows r;
  describe(r, config);
  return r.rows;
}

std::string format_table(const Config& config) {
  auto rows = to_rows(config);
  size_t w = 0;
  for (auto& r : rows) w = std::max(w, r.first.size());
  std::string s = fmt::format("+-{:-<{}}-+-{:-<30}-+\n", "", w, "");
  std::string out = s + fmt::format("| {:<{}} | {:<30} |\n", "key", w, "value") + s;
  for (auto& [k, v] : rows) out += fmt::format("| {:<{}} | {:<30} |\n", k, w, v);
  return out + s;
}

bool defines_trained_model(const std::string& key) {
  return (key.rfind("model.", 0) == 0 && key != "model.spectral_transform") || key == "data.normalize";
}

std::vector<KeyDifference> trained_model_differences(const Config& a, const Config& b) {
  const auto ra = to_rows(a), rb = to_rows(b);
  std::vector<KeyDifference> out;
  for (size_t i = 0; i < ra.size() && i < rb.size(); ++i)
    if (defines_trained_model(ra[i].first) && ra[i].second != rb[i].second)
      out.push_back({ra[i].first, ra[i].second, rb[i].second});
  return out;
}

Config with_trained_model_of(Config config, const Config& model_source) {
  const SpectralTransform transform = config.model.spectral_transform;
  config.model = model_source.model;
  config.model.spectral_transform = transform;
  config.data.normalize = model_source.data.normalize;
  return config;
}

}  // namespace fourmi::config

#include "fourmi/embedded_config.h"

namespace fourmi::config {
const std::string& embedded_default_config() {
  static const std::string text = generated::kDebugYaml;
  return text;
}
}  // namespace fourmi::config
