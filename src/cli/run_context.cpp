#include "fourmi/cli/run_context.h"

#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <tuple>

#include "fourmi/models/mode_mix.h"
#include "fourmi/profile/profiler.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/log.h"

#ifdef FOURMI_HAVE_NCCL
#include "fourmi/dist/nccl_communicator.h"
#endif
#if __has_include(<c10/cuda/CUDAFunctions.h>)
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define FOURMI_HAVE_C10_CUDA 1
#else
#define FOURMI_HAVE_C10_CUDA 0
#endif

namespace fourmi::cli {

torch::Device select_device(const std::string& requested, const dist::LaunchInfo& launch) {
  const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (requested == "cpu" || (requested == "auto" && gpus == 0)) return torch::kCPU;
  if (gpus == 0) throw std::runtime_error("run.device is 'cuda' but no CUDA device is visible; use run.device=cpu or auto");
  if (launch.local_size > gpus)
    throw std::runtime_error(fmt::format("{} ranks on host {} but only {} visible GPUs: start at most one rank per GPU "
                                         "(mpirun -np / srun --ntasks-per-node) or set run.device=cpu",
                                         launch.local_size, launch.host, gpus));
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(launch.local_rank % gpus));
}

std::pair<int, int> resolve_grid(const config::ParallelConfig& p, int world) {
  const bool data_auto = p.data == "auto", modes_auto = p.modes == "auto";
  int d = data_auto ? 0 : std::stoi(p.data), m = modes_auto ? 0 : std::stoi(p.modes);
  if (data_auto && modes_auto) m = 1;
  if (data_auto) {
    if (world % m != 0)
      throw std::runtime_error(fmt::format("parallel.modes = {} does not divide the {} ranks of this launch; use a divisor of {} "
                                           "(parallel.data x parallel.modes must equal the number of ranks)", m, world, world));
    d = world / m;
  } else if (modes_auto) {
    if (world % d != 0)
      throw std::runtime_error(fmt::format("parallel.data = {} does not divide the {} ranks of this launch; use a divisor of {}", d, world, world));
    m = world / d;
  }
  if (d * m != world)
    throw std::runtime_error(fmt::format("parallel.data x parallel.modes = {} x {} = {} but {} ranks were launched; "
                                         "set them so that their product is the number of ranks (or one of them to auto)", d, m, d * m, world));
  return {d, m};
}

bool use_copy_engine_gather(const config::ParallelConfig& p, const dist::LaunchInfo& launch) {
  if (p.copy_engine_gather == "true" && launch.world_size > 1 && resolve_grid(p, launch.world_size).second > 1)
    throw std::invalid_argument("parallel.copy_engine_gather=true needs parallel.modes=1 (with mode parallelism the data groups' "
                                "gathers run on NCCL's kernels); accepted with parallel.modes > 1: auto, false");
  if (p.copy_engine_gather != "auto") return p.copy_engine_gather == "true";
  // NCCL moves an all-gather with the copy engines only within one node (NVLink); mode groups
  // split the data group off the world, and their gathers stay on NCCL's kernels.
  return launch.world_size > 1 && launch.local_size == launch.world_size && resolve_grid(p, launch.world_size).second == 1;
}

RunContext::RunContext(const config::Config& config) : launch_(dist::detect_launch()) {
  util::set_log_rank(launch_.rank, launch_.world_size);
  if (launch_.multi_rank()) {
    mpi_ = std::make_unique<dist::MpiRuntime>();
  }
  // Before the first CUDA call: these are read when the CUDA context and cuBLAS start.
  if (config.debug.sync) ::setenv("CUDA_LAUNCH_BLOCKING", "1", 1);
  if (config.debug.deterministic || config.train.deterministic) {
    ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
  }
  profile::set_check_finite(config.debug.check_finite);
  device_ = select_device(config.run.device, launch_);
  at::globalContext().setAllowTF32CuBLAS(config.run.tf32);
  at::globalContext().setAllowTF32CuDNN(config.run.tf32);
  models::set_mode_mix_kernel(config.run.mix_kernel);
  std::string backend = config.parallel.backend;
  const bool nccl = launch_.multi_rank() && (backend == "nccl" || (backend == "auto" && device_.is_cuda()));
  copy_engine_gather_ = nccl && use_copy_engine_gather(config.parallel, launch_);
  const std::string& stream = config.run.compute_stream;
  dedicated_stream_ = device_.is_cuda() && (stream == "dedicated" || (stream == "auto" && (copy_engine_gather_ || launch_.world_size == 1)));
#if FOURMI_HAVE_C10_CUDA
  if (device_.is_cuda()) {
    c10::cuda::set_device(device_.index());
    if (dedicated_stream_)
      compute_stream_ = std::make_shared<c10::cuda::CUDAStreamGuard>(c10::cuda::getStreamFromPool(false, device_.index()));
  }
#endif
  if (!launch_.multi_rank()) {
    world_ = dist::make_local_communicator();
  } else if (nccl) {
#ifdef FOURMI_HAVE_NCCL
    if (!device_.is_cuda()) throw std::runtime_error("parallel.backend is 'nccl' but the run is on the CPU; use parallel.backend=mpi or auto");
    world_ = dist::make_nccl_world_communicator(
        device_.index(), {config.parallel.timeout_s, config.parallel.comm_priority == "high", config.parallel.nccl_cta_policy,
                             config.parallel.nccl_max_ctas, copy_engine_gather_,
                             copy_engine_gather_ && config.parallel.copy_engine_reduce_scatter != "false"});
#else
    throw std::runtime_error("parallel.backend 'nccl': this fourmi was built without NCCL; use parallel.backend=mpi");
#endif
  } else {
    world_ = dist::make_mpi_world_communicator(config.parallel.timeout_s);
  }
  world_->set_log(&comm_log_);
  std::tie(data_ranks_, mode_ranks_) = resolve_grid(config.parallel, world_->size());
  if (copy_engine_gather_)
    util::info("data parallel: parameter all-gathers{} on the copy engines, compute on a {} stream (parallel.copy_engine_gather, "
               "parallel.copy_engine_reduce_scatter, run.compute_stream)",
               config.parallel.copy_engine_reduce_scatter != "false" ? " and gradient reduce-scatters" : "", dedicated_stream_ ? "dedicated" : "legacy");
  // Fault injection for tests of the collective timeout: the named rank stalls here.
  if (const char* stall = std::getenv("FOURMI_FAULT_STALL_RANK"); stall && std::atoi(stall) == launch_.rank) {
    const char* secs = std::getenv("FOURMI_FAULT_STALL_S");
    std::this_thread::sleep_for(std::chrono::duration<double>(secs ? std::atof(secs) : 30.0));
  }
  if (mode_ranks_ > 1) {
    const int r = world_->rank();
    modes_ = world_->split(/*color=*/r / mode_ranks_, /*key=*/r % mode_ranks_, "modes");
    data_ = world_->split(/*color=*/r % mode_ranks_, /*key=*/r / mode_ranks_, "data");
  }
}

RunContext::~RunContext() {
  data_.reset();
  modes_.reset();
  world_.reset();
  compute_stream_.reset();
  mpi_.reset();
}

std::string RunContext::make_run_dir(const config::Config& config) {
  std::string dir = (std::filesystem::path(config.run.dir) / config.run.name).string();
  if (launch_.rank == 0) util::make_dirs(config.debug.rank_logs ? dir + "/logs" : dir);
  world_->barrier();
  if (config.debug.rank_logs) util::set_rank_log_file(fmt::format("{}/logs/rank-{:05d}.log", dir, launch_.rank));
  return dir;
}

}  // namespace fourmi::cli
