#include "fourmi/runtime/run_context.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>

#include "fourmi/distributed/startup_watchdog.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/log.h"

#ifdef FOURMI_HAVE_NCCL
#include "fourmi/distributed/nccl_communicator.h"
#endif
#if __has_include(<c10/cuda/CUDAFunctions.h>)
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define FOURMI_HAVE_C10_CUDA 1
#else
#define FOURMI_HAVE_C10_CUDA 0
#endif

namespace fourmi::runtime {

void apply_process_settings(const ParallelPlan& plan) {
  // Read when the CUDA context and cuBLAS start: before the first CUDA call.
  if (plan.sync_launches) ::setenv("CUDA_LAUNCH_BLOCKING", "1", 1);
  if (plan.deterministic) {
    ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
  }
  at::globalContext().setAllowTF32CuBLAS(plan.tf32);
  at::globalContext().setAllowTF32CuDNN(plan.tf32);
}

RunContext::RunContext(const config::Config& config) : launch_(distributed::detect_launch()) {
  util::set_log_rank(launch_.rank, launch_.world_size);
  // Start-up until the process grid exists is bounded like a collective.
  distributed::StartupWatchdog startup(launch_.multi_rank() ? config.parallel.timeout_s : 0, launch_.rank,
                                       "start-up (MPI initialisation and the communicators)");
  if (launch_.multi_rank()) mpi_ = std::make_unique<distributed::MpiRuntime>();
  // Every rank resolves the same plan from the same config and launch, so a refusal happens on
  // all of them before any collective.
  plan_ = resolve_plan(config, launch_, detect_capabilities());
  apply_process_settings(plan_);
  if (plan_.cuda) device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(plan_.device_index));
#if FOURMI_HAVE_C10_CUDA
  if (device_.is_cuda()) {
    c10::cuda::set_device(device_.index());
    if (plan_.dedicated_stream)
      compute_stream_ =
          std::make_shared<c10::cuda::CUDAStreamGuard>(c10::cuda::getStreamFromPool(false, device_.index()));
  }
#endif
  switch (plan_.backend) {
    case BackendKind::kLocal:
      world_ = distributed::make_local_communicator();
      break;
    case BackendKind::kMpi:
      world_ = distributed::make_mpi_world_communicator(plan_.timeout_s);
      break;
    case BackendKind::kNccl:
#ifdef FOURMI_HAVE_NCCL
      world_ = distributed::make_nccl_world_communicator(
          device_.index(), {plan_.timeout_s, plan_.copy_engine_gather, plan_.copy_engine_reduce_scatter});
#endif
      break;
  }
  world_->set_log(&comm_log_);
  if (launch_.rank == 0) util::info("{}", format_plan(plan_));
  if (plan_.mode_ranks > 1) {
    const int r = world_->rank(), m = plan_.mode_ranks;
    modes_ = world_->split(/*color=*/r / m, /*key=*/r % m, "modes");
    data_ = world_->split(/*color=*/r % m, /*key=*/r / m, "data");
  }
  if (launch_.multi_rank()) world_->barrier();  // every rank is up
  startup.disarm();
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

}  // namespace fourmi::runtime
