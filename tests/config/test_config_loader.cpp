// Config loading: one test per kind of error, overrides, round trip, shipped configs.
#include <gtest/gtest.h>

#include <filesystem>

#include "fourmi/config/config_loader.h"

using namespace fourmi::config;

namespace {
std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    load_config_text(yaml, "test.yaml", overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST(ConfigLoader, DefaultsWhenEmpty) {
  Config c = load_config_text("", "empty.yaml");
  EXPECT_EQ(c.train.epochs, 500);
  EXPECT_DOUBLE_EQ(c.train.lr, 1e-3);
  EXPECT_EQ(c.model.modes, std::vector<int>{16});
}

TEST(ConfigLoader, UnknownKeyNamesFileLinePathAndAccepted) {
  std::string e = error_of("train:\n  epochs: 3\n  lrr: 0.1\n");
  EXPECT_TRUE(contains(e, "test.yaml:3")) << e;
  EXPECT_TRUE(contains(e, "train.lrr")) << e;
  EXPECT_TRUE(contains(e, "lr")) << e;
}

TEST(ConfigLoader, UnknownSection) {
  std::string e = error_of("trian:\n  epochs: 3\n");
  EXPECT_TRUE(contains(e, "test.yaml:1")) << e;
  EXPECT_TRUE(contains(e, "unknown key 'trian'")) << e;
}

TEST(ConfigLoader, WrongType) {
  std::string e = error_of("train:\n  epochs: many\n");
  EXPECT_TRUE(contains(e, "test.yaml:2")) << e;
  EXPECT_TRUE(contains(e, "train.epochs")) << e;
  EXPECT_TRUE(contains(e, "expected an integer")) << e;
}

TEST(ConfigLoader, OutOfRange) {
  std::string e = error_of("model:\n  dim: 4\n");
  EXPECT_TRUE(contains(e, "model.dim")) << e;
  EXPECT_TRUE(contains(e, "[1, 3]")) << e;
}

TEST(ConfigLoader, NotOneOf) {
  std::string e = error_of("train:\n  optimizer: sgd\n");
  EXPECT_TRUE(contains(e, "'adam'")) << e;
  EXPECT_TRUE(contains(e, "'adamw'")) << e;
}

TEST(ConfigLoader, SectionMustBeMapping) {
  std::string e = error_of("train: 5\n");
  EXPECT_TRUE(contains(e, "expected a mapping")) << e;
}

TEST(ConfigLoader, DocumentMustBeMappingAlsoWithOverrides) {  // found by tests/fuzz/fuzz_config.cpp
  for (const char* doc : {"just text\n", "- a\n- b\n"}) {
    std::string e = error_of(doc, {"train.lr=5e-4"});
    EXPECT_TRUE(contains(e, "a config is a mapping of sections")) << e;
    EXPECT_TRUE(contains(e, "test.yaml:1")) << e;
  }
}

TEST(ConfigLoader, NodeOfAnotherKindIsAConfigError) {  // found by tests/fuzz/fuzz_config.cpp
  for (const char* doc : {"? [a, b]\n: 1\n", "train:\n  ? {x: 1}\n  : 2\n"}) {
    std::string e = error_of(doc);
    EXPECT_TRUE(contains(e, "test.yaml:")) << e;
  }
}

TEST(ConfigLoader, ModesLengthMustMatchDim) {
  std::string e = error_of("model:\n  dim: 2\n  modes: [4, 4, 4]\n");
  EXPECT_TRUE(contains(e, "model.modes")) << e;
}

TEST(ConfigLoader, KeysThatOnlyExperimentsNeededAreGone) {
  for (const char* key :
       {"parallel:\n  update_per_bucket: true\n", "parallel:\n  comm_priority: high\n",
        "parallel:\n  nccl_cta_policy: zero\n", "parallel:\n  nccl_max_ctas: 8\n", "run:\n  mix_kernel: true\n",
        "profile:\n  control_run: true\n", "train:\n  deterministic: true\n"}) {
    std::string e = error_of(key);
    EXPECT_TRUE(contains(e, "unknown key")) << key << ": " << e;
  }
}

// Words, switches and auto-or-number keys are typed at load: a wrong word lists the accepted ones.
TEST(ConfigLoader, EnumsAndSwitchesAreTypedAtLoad) {
  std::string e = error_of("parallel:\n  copy_engine_gather: maybe\n");
  EXPECT_TRUE(contains(e, "parallel.copy_engine_gather") && contains(e, "one of 'auto' 'true' 'false'")) << e;
  e = error_of("run:\n  compute_stream: fast\n");
  EXPECT_TRUE(contains(e, "run.compute_stream") && contains(e, "'dedicated'")) << e;
  e = error_of("parallel:\n  modes: 0\n");
  EXPECT_TRUE(contains(e, "parallel.modes") && contains(e, "'auto' or an integer >= 1")) << e;
  Config c = load_config_text("parallel:\n  copy_engine_gather: false\n  data: 2\n  modes: auto\n", "t.yaml");
  EXPECT_EQ(c.parallel.copy_engine_gather, fourmi::config::Switch::kOff);
  EXPECT_EQ(c.parallel.data.value, 2);
  EXPECT_TRUE(c.parallel.modes.is_auto());
  // and they round-trip through the written config
  Config back = load_config_text(fourmi::config::to_yaml(c), "written.yaml");
  EXPECT_EQ(back.parallel.copy_engine_gather, fourmi::config::Switch::kOff);
  EXPECT_EQ(back.parallel.data.value, 2);
  EXPECT_TRUE(back.parallel.modes.is_auto());
}

TEST(ConfigLoader, SpectralTransformAndCudaGraphAreTyped) {
  std::string e = error_of("model:\n  spectral_transform: fast\n");
  EXPECT_TRUE(contains(e, "model.spectral_transform") && contains(e, "'auto' 'fft' 'dft'")) << e;
  Config c = load_config_text("model:\n  spectral_transform: dft\ntrain:\n  cuda_graph: false\n", "t.yaml");
  EXPECT_EQ(c.model.spectral_transform, fourmi::config::SpectralTransform::kDft);
  EXPECT_EQ(c.train.cuda_graph, fourmi::config::Switch::kOff);
  Config back = load_config_text(fourmi::config::to_yaml(c), "written.yaml");
  EXPECT_EQ(back.model.spectral_transform, fourmi::config::SpectralTransform::kDft);
  EXPECT_EQ(back.train.cuda_graph, fourmi::config::Switch::kOff);
}

TEST(ConfigLoader, ShardMinMbIsAutoOrANonNegativeNumber) {
  for (const char* bad : {"-1", "one", "1MB"}) {
    std::string e = error_of(std::string("parallel:\n  shard_min_mb: ") + bad + "\n");
    EXPECT_TRUE(contains(e, "parallel.shard_min_mb") && contains(e, "'auto' or a number >= 0")) << bad << ": " << e;
  }
  EXPECT_EQ(error_of("parallel:\n  shard_min_mb: 0.5\n"), "");
  EXPECT_EQ(error_of("parallel:\n  shard_min_mb: auto\n"), "");
}

TEST(ConfigLoader, SyntaxError) {
  std::string e = error_of("train:\n  epochs: [1,\n");
  EXPECT_TRUE(contains(e, "YAML syntax error")) << e;
}

TEST(ConfigLoader, OverridesApplyOnTop) {
  Config c = load_config_text("train:\n  lr: 0.1\n", "t.yaml", {"train.lr=5e-4", "model.modes=[8, 4]", "model.dim=2"});
  EXPECT_DOUBLE_EQ(c.train.lr, 5e-4);
  EXPECT_EQ(c.model.modes, (std::vector<int>{8, 4}));
}

TEST(ConfigLoader, BadOverrideNamesTheOverride) {
  std::string e = error_of("", {"train.lr=-1"});
  EXPECT_TRUE(contains(e, "--set train.lr=-1")) << e;
  e = error_of("", {"train.nope=1"});
  EXPECT_TRUE(contains(e, "train.nope")) << e;
  e = error_of("", {"justakey"});
  EXPECT_TRUE(contains(e, "section.key=value")) << e;
}

TEST(ConfigLoader, ModesBroadcastToDim) {
  Config c = load_config_text("model:\n  dim: 3\n  modes: 6\n", "t.yaml");
  EXPECT_EQ(c.model.modes, (std::vector<int>{6, 6, 6}));
}

TEST(ConfigLoader, YamlRoundTrip) {
  Config a =
      load_config_text("train:\n  lr: 0.00025\nmodel:\n  dim: 2\n  modes: [7, 5]\nrun:\n  name: \"x y\"\n", "t.yaml");
  Config b = load_config_text(to_yaml(a), "roundtrip.yaml");
  EXPECT_EQ(to_rows(a), to_rows(b));
}

TEST(ConfigLoader, EmbeddedDefaultAndShippedConfigsLoad) {
  EXPECT_NO_THROW(load_config_text(embedded_default_config(), "embedded"));
  const char* src = std::getenv("FOURMI_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  int count = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(src) + "/configs")) {
    if (e.path().extension() != ".yaml") continue;
    EXPECT_NO_THROW(load_config_file(e.path().string())) << e.path();
    ++count;
  }
  EXPECT_GE(count, 12);  // configs/*.yaml and configs/import/*.yaml
}

TEST(ConfigLoader, TableListsEveryKey) {
  Config c;
  std::string t = format_table(c);
  EXPECT_TRUE(contains(t, "train.lr")) << t;
  EXPECT_TRUE(contains(t, "datagen.burgers1d.viscosity")) << t;
}

TEST(ConfigLoader, TrainedModelKeysAreTheModelsAndTheNormalisation) {
  Config a, b;
  EXPECT_TRUE(trained_model_differences(a, b).empty());
  b.model.layers = 3;
  b.model.padding = 0.25;
  b.data.normalize = Normalize::kGaussian;
  b.model.spectral_transform = SpectralTransform::kDft;  // how, not what: not a difference
  b.train.lr = 0.5;                                      // not the model's
  auto d = trained_model_differences(a, b);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].key, "data.normalize");
  EXPECT_EQ(d[0].b, "gaussian");
  EXPECT_EQ(d[1].key, "model.layers");
  EXPECT_EQ(d[1].a, "4");
  EXPECT_EQ(d[1].b, "3");
  EXPECT_EQ(d[2].key, "model.padding");
  // Taking the model of b leaves no difference and keeps a's transform and training keys.
  Config c = with_trained_model_of(a, b);
  EXPECT_TRUE(trained_model_differences(c, b).empty());
  EXPECT_EQ(c.model.spectral_transform, a.model.spectral_transform);
  EXPECT_EQ(c.train.lr, a.train.lr);
}

TEST(ConfigLoader, EveryModelKeyDefinesTheTrainedModel) {
  for (const auto& [key, value] : to_rows(Config{})) {
    if (key.rfind("model.", 0) == 0 && key != "model.spectral_transform") {
      EXPECT_TRUE(defines_trained_model(key)) << key;
    }
  }
  EXPECT_FALSE(defines_trained_model("train.epochs"));
  EXPECT_FALSE(defines_trained_model("model.spectral_transform"));
}
