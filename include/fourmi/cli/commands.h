// commands.h — `fourmi <command>`: each command wires the areas together and holds no logic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fourmi::cli {

struct CommonOptions {
  std::string config_path;             // empty: the embedded configs/debug.yaml
  std::vector<std::string> overrides;  // --set section.key=value
  // A checkpoint's model keys win over a config that disagrees (else the disagreement is refused).
  bool model_from_checkpoint = false;
};

struct TrainOptions {
  bool resume = false;       // --resume
  bool auto_resume = false;  // --auto-resume
  bool overwrite = false;    // --overwrite
};

struct EvalOptions {
  std::string checkpoint;  // default: the newest in the run directory
  std::string out;         // eval.json path; default <run dir>/eval.json
};

struct PredictOptions {
  std::string checkpoint;  // default: the newest in the run directory
  std::string data;        // dataset directory; default data.test
  std::string out;         // output directory; default <run dir>/predictions
  int64_t batch_size = 0;  // default train.batch_size
};

struct ExportOptions {
  std::string checkpoint;  // default: the newest in the run directory
  std::string out;         // default <run dir>/model.safetensors
};

int run_train(const CommonOptions& opts, const TrainOptions& train);
int run_eval(const CommonOptions& opts, const EvalOptions& eval);
int run_predict(const CommonOptions& opts, const PredictOptions& predict);
int run_export(const CommonOptions& opts, const ExportOptions& how);
int run_datagen(const CommonOptions& opts, const std::string& pde);
int run_import(const CommonOptions& opts);
int run_info(const CommonOptions& opts);
int run_bench_io(const CommonOptions& opts, const std::string& out_path, int train_steps);
int run_bench_peak(const CommonOptions& opts, const std::string& out_path);
// Runs tools/fourmi_report.py with `args` under the configured Python; returns its exit status.
int run_report(const std::vector<std::string>& args);

}  // namespace fourmi::cli
