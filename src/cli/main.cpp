// main.cpp — the `fourmi` command line (CLI11). Help text comes from the parser.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <cstdio>
#include <string>

#include "fourmi/cli/commands.h"
#include "fourmi/config/config_loader.h"
#include "fourmi/distributed/mpi_communicator.h"
#include "fourmi/util/host.h"

int main(int argc, char** argv) {
  using namespace fourmi::cli;
  CLI::App app{"fourmi — train Fourier Neural Operators across MPI ranks (mpirun, srun, or a single process)"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("fourmi 0.1.0"));
  CommonOptions opts;
  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option("-c,--config", opts.config_path, "YAML config (default: the embedded configs/debug.yaml)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--set", opts.overrides, "override a key, e.g. --set train.lr=5e-4 (repeatable)")
        ->take_all()
        ->allow_extra_args(false);
  };
  auto add_model_flag = [&](CLI::App* cmd) {
    cmd->add_flag("--model-from-checkpoint", opts.model_from_checkpoint,
                  "take model.* and data.normalize from the checkpoint where the config disagrees (else refused)");
  };
  TrainOptions train_opts;
  EvalOptions eval_opts;
  std::string pde;
  auto* train = app.add_subcommand("train", "train a model (reads data.train, evaluates on data.test)");
  add_common(train);
  add_model_flag(train);
  auto* resume_flag =
      train->add_flag("--resume", train_opts.resume, "continue from the newest checkpoint in the run directory");
  auto* auto_flag = train->add_flag("--auto-resume", train_opts.auto_resume,
                                    "continue from the newest checkpoint if there is one, else start (batch jobs)");
  train
      ->add_flag("--overwrite", train_opts.overwrite,
                 "start over in a run directory that holds a run: delete its checkpoints, metrics and results")
      ->excludes(resume_flag)
      ->excludes(auto_flag);
  resume_flag->excludes(auto_flag);
  auto* eval = app.add_subcommand("eval", "evaluate a checkpoint on data.test (test relative L2)");
  add_common(eval);
  add_model_flag(eval);
  eval->add_option("--checkpoint", eval_opts.checkpoint, "checkpoint file (default: newest in the run directory)");
  eval->add_option("--out", eval_opts.out, "where to write eval.json (default: <run dir>/eval.json)");
  PredictOptions predict_opts;
  auto* predict = app.add_subcommand(
      "predict", "write a checkpoint's predictions on a dataset as HDF5, with the per-sample relative L2 error");
  add_common(predict);
  add_model_flag(predict);
  predict->add_option("--checkpoint", predict_opts.checkpoint,
                      "checkpoint file (default: newest in the run directory)");
  predict->add_option("--data", predict_opts.data, "dataset directory to predict (default: data.test)");
  predict->add_option("--out", predict_opts.out, "output directory (default: <run dir>/predictions)");
  predict->add_option("--batch-size", predict_opts.batch_size, "samples per forward pass (default: train.batch_size)")
      ->check(CLI::PositiveNumber);
  ExportOptions export_opts;
  auto* export_cmd = app.add_subcommand(
      "export", "write a checkpoint as one model file (safetensors + architecture) for PyTorch (python/fourmi_torch)");
  add_common(export_cmd);
  add_model_flag(export_cmd);
  export_cmd->add_option("--checkpoint", export_opts.checkpoint,
                         "checkpoint file (default: newest in the run directory)");
  export_cmd->add_option("--out", export_opts.out, "model file to write (default: <run dir>/model.safetensors)");
  auto* datagen = app.add_subcommand("datagen", "generate a PDE dataset into sharded HDF5 (train and test splits)");
  add_common(datagen);
  datagen->add_option("pde", pde, "PDE to solve (default: datagen.pde)")
      ->check(CLI::IsMember({"burgers1d", "darcy2d", "navier_stokes2d"}));
  auto* import_cmd = app.add_subcommand(
      "import", "convert a .mat, HDF5 or .npy dataset into fourmi's sharded format (the import: section)");
  add_common(import_cmd);
  auto* info = app.add_subcommand("info", "print the build, the devices and the topology every rank sees");
  add_common(info);
  auto* bench = app.add_subcommand("bench", "measure this machine: the data reader (io) or the roofline peaks (peak)");
  bench->require_subcommand(1);
  std::string bench_out;
  int bench_steps = 20;
  auto* bench_io = bench->add_subcommand(
      "io", "reader samples/s per rank, cold and warm cache, against the training step's consumption");
  add_common(bench_io);
  bench_io->add_option("--out", bench_out, "JSON result file to add the runs to (e.g. bench/results/io.json)");
  bench_io->add_option("--train-steps", bench_steps, "timed training steps")->check(CLI::PositiveNumber);
  auto* bench_peak = bench->add_subcommand(
      "peak", "peak FLOP/s per precision and memory bandwidth of this device (roofline ceilings)");
  add_common(bench_peak);
  bench_peak->add_option("--out", bench_out, "peaks file to write (default: <run.dir>/peaks-<device>.json)");
  std::vector<std::string> report_args;
  auto* report = app.add_subcommand("report", "tables and charts from one or many runs (tools/fourmi_report.py)");
  report->prefix_command();  // everything after `report` goes to the report tool

  fourmi::util::set_command_line(argc, argv);
  if (argc > 1 && argv[1][0] != '-') {  // a misspelt command gets the list, not a generic parse error
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known = known || sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::fprintf(stderr, "fourmi: unknown command '%s'; the commands are %s (see fourmi --help)\n", argv[1],
                   names.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints the message (or the help)
    return rc == 0 ? 0 : 2;      // usage errors exit 2, like config errors
  }
  try {
    if (*report) return run_report(report->remaining());
    if (*bench_io) return run_bench_io(opts, bench_out, bench_steps);
    if (*bench_peak) return run_bench_peak(opts, bench_out);
    if (*train) return run_train(opts, train_opts);
    if (*eval) return run_eval(opts, eval_opts);
    if (*predict) return run_predict(opts, predict_opts);
    if (*export_cmd) return run_export(opts, export_opts);
    if (*datagen) return run_datagen(opts, pde);
    if (*import_cmd) return run_import(opts);
    if (*info) return run_info(opts);
    std::fprintf(stderr,
                 "fourmi: a command is required: train, eval, predict, export, datagen, import, info, bench or report "
                 "(see fourmi --help)\n");
    return 2;
  } catch (const fourmi::config::ConfigError& e) {
    fourmi::distributed::abort_all_ranks(e.what(), 2);
  } catch (const c10::Error& e) {
    fourmi::distributed::abort_all_ranks(e.what_without_backtrace(), 1);
  } catch (const std::exception& e) {
    fourmi::distributed::abort_all_ranks(e.what(), 1);
  }
  return 0;
}
