// main.cpp — the `fourmi` command line (CLI11). Help text comes from the parser.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <cstdio>

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
  bool resume = false;
  std::string checkpoint, pde;
  auto* train = app.add_subcommand("train", "train a model (reads data.train, evaluates on data.test)");
  add_common(train);
  train->add_flag("--resume", resume, "continue from the newest checkpoint in the run directory");
  auto* eval = app.add_subcommand("eval", "evaluate a checkpoint on data.test (test relative L2)");
  add_common(eval);
  eval->add_option("--checkpoint", checkpoint, "checkpoint file (default: newest in the run directory)");
  auto* datagen = app.add_subcommand("datagen", "generate a PDE dataset into sharded HDF5 (train and test splits)");
  add_common(datagen);
  datagen->add_option("pde", pde, "PDE to solve (default: datagen.pde)")
      ->check(CLI::IsMember({"burgers1d", "darcy2d", "navier_stokes2d"}));
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
  CLI11_PARSE(app, argc, argv);
  try {
    if (*report) return run_report(report->remaining());
    if (*bench_io) return run_bench_io(opts, bench_out, bench_steps);
    if (*bench_peak) return run_bench_peak(opts, bench_out);
    if (*train) return run_train(opts, resume);
    if (*eval) return run_eval(opts, checkpoint);
    if (*datagen) return run_datagen(opts, pde);
    if (*info) return run_info(opts);
    std::fprintf(stderr,
                 "fourmi: a command is required: train, eval, datagen, info, bench or report (see fourmi --help)\n");
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
