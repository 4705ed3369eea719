// config.h — typed configuration of a fourmi run, one struct per component.
//
// A run is described by one YAML file (see configs/). Every key maps onto a field
// below; the loader (config_loader.h) rejects unknown keys, wrong types and
// out-of-range values with the file, line and key path. Defaults here are the
// FNO paper's settings where the paper gives one.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fourmi::config {

// Typed values of the keys that take a fixed set of words. Each enum's YAML spelling is its
// EnumTable below; the loader refuses any other word and lists the accepted ones.
enum class Switch { kAuto, kOn, kOff };  // auto | true | false: fourmi decides, or the user fixes it
enum class DeviceKind { kAuto, kCpu, kCuda };
enum class Backend { kAuto, kNccl, kMpi };
enum class ComputeStream { kAuto, kLegacy, kDedicated };
enum class Normalize { kNone, kGaussian };
enum class OptimizerKind { kAdam, kAdamW };
enum class Schedule { kNone, kStep, kCosine };
enum class SpectralTransform { kAuto, kFft, kDft };

template <class E>
struct EnumTable;
template <>
struct EnumTable<Switch> {
  static constexpr std::pair<Switch, const char*> values[] = {
      {Switch::kAuto, "auto"}, {Switch::kOn, "true"}, {Switch::kOff, "false"}};
};
template <>
struct EnumTable<DeviceKind> {
  static constexpr std::pair<DeviceKind, const char*> values[] = {
      {DeviceKind::kAuto, "auto"}, {DeviceKind::kCpu, "cpu"}, {DeviceKind::kCuda, "cuda"}};
};
template <>
struct EnumTable<Backend> {
  static constexpr std::pair<Backend, const char*> values[] = {
      {Backend::kAuto, "auto"}, {Backend::kNccl, "nccl"}, {Backend::kMpi, "mpi"}};
};
template <>
struct EnumTable<ComputeStream> {
  static constexpr std::pair<ComputeStream, const char*> values[] = {
      {ComputeStream::kAuto, "auto"}, {ComputeStream::kLegacy, "legacy"}, {ComputeStream::kDedicated, "dedicated"}};
};
template <>
struct EnumTable<Normalize> {
  static constexpr std::pair<Normalize, const char*> values[] = {{Normalize::kNone, "none"},
                                                                 {Normalize::kGaussian, "gaussian"}};
};
template <>
struct EnumTable<OptimizerKind> {
  static constexpr std::pair<OptimizerKind, const char*> values[] = {{OptimizerKind::kAdam, "adam"},
                                                                     {OptimizerKind::kAdamW, "adamw"}};
};
template <>
struct EnumTable<Schedule> {
  static constexpr std::pair<Schedule, const char*> values[] = {
      {Schedule::kNone, "none"}, {Schedule::kStep, "step"}, {Schedule::kCosine, "cosine"}};
};

template <>
struct EnumTable<SpectralTransform> {
  static constexpr std::pair<SpectralTransform, const char*> values[] = {
      {SpectralTransform::kAuto, "auto"}, {SpectralTransform::kFft, "fft"}, {SpectralTransform::kDft, "dft"}};
};

// The YAML word of an enum value.
template <class E>
const char* name_of(E e) {
  for (const auto& [value, name] : EnumTable<E>::values)
    if (value == e) return name;
  return "?";
}

// A count fourmi may choose. YAML: auto | an integer >= 1 (0 here means auto).
struct AutoCount {
  int value = 0;
  bool is_auto() const { return value == 0; }
};
// A non-negative amount fourmi may choose. YAML: auto | a number >= 0 (negative here means auto).
struct AutoAmount {
  double value = -1;
  bool is_auto() const { return value < 0; }
};

struct RunConfig {
  std::string name = "run";  // run directory is <dir>/<name>
  std::string dir = "runs";
  std::uint64_t seed = 0;
  DeviceKind device = DeviceKind::kAuto;
  bool progress = true;  // progress bar on a TTY
  bool tf32 = true;      // TF32 tensor cores for float32 GEMMs on GPUs (FFTs stay fp32)
  // CUDA: legacy (the CUDA default stream) | dedicated (a non-blocking stream of the rank's own);
  // auto: dedicated on one rank or with copy-engine gathers, legacy otherwise.
  ComputeStream compute_stream = ComputeStream::kAuto;
};

// periodic viscous Burgers on [0,1): u_t + (u^2/2)_x = nu u_xx
struct Burgers1dConfig {
  int resolution = 8192;  // solver grid
  double viscosity = 1e-3;
  double t_final = 1.0;
  double grf_gamma = 2.5;  // u0 ~ N(0, sigma^2 (-Lap + tau^2 I)^-gamma)
  double grf_tau = 7.0;
  double grf_sigma = 49.0;
  double cfl = 0.4;  // dt = cfl * dx / max|u0|
};

// steady Darcy flow -div(a grad u) = 1 on [0,1]^2, u = 0 on the boundary
struct Darcy2dConfig {
  int resolution = 421;    // cells per side; a and u at the cell centres ((2i+1)/(2n), (2j+1)/(2n))
  double grf_gamma = 2.0;  // mu: GRF.m of the FNO paper, the Neumann cosine series of
  double grf_tau = 3.0;    // N(0, sigma^2 (-Lap + tau^2 I)^-gamma) with its mean mode zero, at the cell centres
  double grf_sigma = 3.0;  // tau^(gamma - 1), as GRF.m (only the sign of mu is used)
  double a_pos = 12.0;     // a where mu >= 0
  double a_neg = 3.0;      // a where mu < 0
  double tol = 1e-8;       // PCG relative residual ||f - A u|| / ||f||
  int max_iter = 20000;
};

// 2D Navier-Stokes, vorticity form on the unit torus
struct NavierStokes2dConfig {
  int resolution = 256;       // solver grid per side
  int store_resolution = 64;  // stored grid per side (divides resolution)
  double viscosity = 1e-3;
  int snapshots = 50;  // stored at t = interval, 2 interval, ..., snapshots * interval
  double interval = 1.0;
  double grf_alpha = 2.5;  // w0: random_fields.py's GaussianRF(2, s, alpha, tau), zero mean: twice the variance of
                           // N(0, sigma^2 (-Lap + tau^2 I)^-alpha), as the original (real part of a complex field)
  double grf_tau = 7.0;
  double grf_sigma = 18.520259177452136;  // tau^(0.5 (2 alpha - d)) = 7^1.5, as in the FNO paper's generator
  double forcing = 0.1;                   // f = forcing (sin 2 pi (x+y) + cos 2 pi (x+y))
  double cfl = 0.5;
  double dt_max = 1e-2;
  std::string layout = "channels";  // channels: x = w0 [1,s,s], y = [snapshots,s,s]; spacetime: x = w0 repeated
                                    // along time and y = the snapshots, both [1,s,s,snapshots] (FNO-3D)
};

struct DatagenConfig {
  std::string pde = "burgers1d";  // burgers1d | darcy2d | navier_stokes2d
  std::string out = "";           // writes <out>-train/ and <out>-test/; "" = data/<pde>
  int n_train = 1000;
  int n_test = 200;
  int shards = 1;
  int batch = 100;  // samples solved together
  std::uint64_t seed = 0;
  int check_refinement = 0;  // re-solve this many training samples on a twice finer grid and record the difference
  std::vector<int> levels;   // also store copies subsampled by each of these (read when data.sub is a multiple)
  Burgers1dConfig burgers1d;
  Darcy2dConfig darcy2d;
  NavierStokes2dConfig navier_stokes2d;
};

// One side (input x or target y) of an imported dataset (`fourmi import`, docs/import.md): which
// array of the source holds it and how its axes map onto fourmi's samples [C, n_1, .., n_d].
struct ImportFieldConfig {
  std::string name;  // the MATLAB variable, the HDF5 dataset path, or the .npy file (relative to import.path)
  // The stored array's axes in order, one letter each: n (sample), c (channel), t (time), x, y, z
  // (space), e.g. "nxy" (Darcy's coeff), "ntx" (PDEBench Burgers' tensor), "nxyt". MATLAB files in
  // MATLAB's order (as whos shows), HDF5 and .npy in their stored (C) order.
  std::string axes;
  std::vector<int> time;  // [begin, end) on the t axis; negative begin and end <= 0 count from the end; empty: all
  std::string time_as = "channels";  // channels | space (t becomes the last spatial dimension, for FNO-3D)
  // > 0: each sample repeated along a new last spatial dimension of this many points (the FNO
  // paper's FNO-3D input: the first 10 snapshots as channels, constant along the 40 predicted times).
  int repeat = 0;
};

// `fourmi import`: a dataset written by another program into fourmi's sharded, checksummed format.
struct ImportConfig {
  std::string format = "auto";  // auto (a directory: npy; *.mat: mat; else hdf5) | mat | hdf5 | npy
  std::string path;             // the source: a .mat or HDF5 file, or a directory of .npy files
  std::string test_path;        // where the test samples are ("" = path)
  int test_start = -1;          // first test sample there (-1: n_train in path, 0 in test_path)
  int n_train = 0;
  int n_test = 0;
  int shards = 1;
  std::string out;  // writes <out>-train/ and <out>-test/
  ImportFieldConfig x, y;
};

struct DataConfig {
  std::string train = "data/burgers1d-train";  // dataset directory (manifest.json + shards)
  std::string test = "data/burgers1d-test";
  int n_train = 0;  // 0 = all samples
  int n_test = 0;
  int sub = 1;                             // spatial subsampling at read time
  Normalize normalize = Normalize::kNone;  // gaussian: unit-Gaussian, statistics of the training split
  int prefetch = 4;                        // batches queued by the background reader
  int readahead =
      -1;  // samples the reader asks the kernel to load ahead (fadvise); -1 = (prefetch + 1) batches, 0 = off
  bool shuffle = true;
  bool verify_checksums = true;
  bool stored_levels = true;  // read a stored coarser copy (datagen.levels) when data.sub is a multiple of its sub
};

struct ModelConfig {
  std::string name = "fno";
  int dim = 1;  // 1, 2 or 3 spatial dimensions
  int in_channels = 1;
  int out_channels = 1;
  int width = 64;
  std::vector<int> modes = {16};  // retained Fourier modes per dimension (one value broadcasts)
  int layers = 4;
  int projection_width = 128;
  bool grid_embedding = true;
  double padding = 0.0;  // domain padding, fraction of each spatial extent
  // 0: one forward maps x to y. N >= 1: autoregressive, as the FNO paper's Navier-Stokes FNO-2D:
  // one forward maps the latest in_channels snapshots to the next out_channels, applied N times,
  // each output appended to the input window (its oldest out_channels dropped); y holds the
  // N x out_channels snapshots. Trained on the loss averaged over the N steps, evaluated on the
  // whole predicted trajectory. Needs out_channels <= in_channels and data.normalize: none.
  int rollout_steps = 0;
  // How the spectral layers transform: fft (cuFFT/pocketfft over the whole grid, then the retained
  // modes sliced out) | dft (GEMMs against DFT matrices of the retained modes only) | auto (the
  // rule of choose_transform in models/spectral_conv.h, measured in docs/performance.md).
  SpectralTransform spectral_transform = SpectralTransform::kAuto;
};

struct TrainConfig {
  int epochs = 500;
  int batch_size = 20;                             // global batch, split across data-parallel ranks
  int grad_accum = 1;                              // micro-steps per optimizer step
  OptimizerKind optimizer = OptimizerKind::kAdam;  // adamw: decoupled weight decay
  double lr = 1e-3;
  double weight_decay = 1e-4;
  Schedule schedule = Schedule::kStep;
  int step_size = 100;  // epochs, for schedule: step
  double gamma = 0.5;
  double min_lr = 0.0;        // for schedule: cosine
  int eval_every = 10;        // epochs
  int checkpoint_every = 50;  // epochs
  bool checkpoints = true;    // false: write none (benchmarks of models too large to save often)
  // Capture the training step in a CUDA graph and replay it (train/graphed_step.h). auto: on for
  // CUDA runs of one rank without debug.check_finite; true refuses any other run at load.
  Switch cuda_graph = Switch::kAuto;
};

struct ParallelConfig {
  AutoCount data;                    // data-parallel ranks; auto: world / modes
  AutoCount modes{1};                // mode-parallel ranks; auto: world / data
  Backend backend = Backend::kAuto;  // auto: NCCL for GPU runs of several ranks, MPI for CPU runs
  double bucket_mb = 25.0;
  bool bf16_compress = false;   // gradients travel as bf16 (NCCL only)
  double timeout_s = 300.0;     // collective watchdog
  bool shard_optimizer = true;  // ZeRO stage 1: reduce-scatter, Adam on this rank's block, all-gather parameters
  // Buckets under this many MB are all-reduced and updated whole on every rank (one collective, on
  // NCCL's kernels, instead of a reduce-scatter and an all-gather); auto: 1 when the collectives run
  // on the copy engines (tens of microseconds each, even for a few KB), else 0.
  AutoAmount shard_min_mb;
  bool grad_into_bucket = true;  // backward writes the spectral weights' gradients into their buckets (no copy)
  // NCCL with the sharded optimizer: the parameter all-gathers on the copy engines (no SMs);
  // auto: on when every rank is on one node and modes = 1.
  Switch copy_engine_gather = Switch::kAuto;
  // With copy-engine gathers: the gradients' reduce-scatters as an all-to-all on the copy engines
  // and a short local sum; auto: on with copy-engine gathers.
  Switch copy_engine_reduce_scatter = Switch::kAuto;
};

struct ProfileConfig {
  bool enabled = false;
  int warmup_steps = 5;
  int steps = 80;          // profiled steps after warm-up (as many plain steps alternate with them)
  bool sample_ops = true;  // time a few ops per profiled step, round robin (false: every op in every step)
  int op_samples = 3;      // with sample_ops: profiled steps that time each op, about
  std::string peaks =
      "";  // file written by `fourmi bench peak` ("" = <run.dir>/peaks-<device>.json, measured if missing)
  double peak_fp32_gflops = 0;  // peaks given directly (all > 0 needed for fp32 and memory; 0 = measured/file)
  double peak_tf32_gflops = 0;
  double peak_bf16_gflops = 0;
  double peak_fp64_gflops = 0;
  double peak_mem_gbs = 0;
};

// Single-node debug mode; usable under mpirun too.
struct DebugConfig {
  bool deterministic = false;  // deterministic algorithms (errors on ops that have none)
  bool check_finite = false;   // NaN/Inf check after every op, forward and backward; names the first
  bool rank_logs = false;      // every rank writes <run dir>/logs/rank-NNNNN.log
  bool sync = false;           // synchronous CUDA launches (CUDA_LAUNCH_BLOCKING=1): errors at the failing op
};

struct Config {
  RunConfig run;
  DatagenConfig datagen;
  ImportConfig import_data;  // the YAML section import:
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  ParallelConfig parallel;
  ProfileConfig profile;
  DebugConfig debug;
};

}  // namespace fourmi::config
