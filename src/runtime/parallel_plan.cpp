// parallel_plan.cpp — resolve_plan: the launch-dependent `auto`s and the refusals, in one place.
#include "fourmi/runtime/parallel_plan.h"

#include <fmt/format.h>
#include <torch/cuda.h>

#include <algorithm>
#include <stdexcept>
#include <tuple>

namespace fourmi::runtime {
namespace {

using config::Switch;

[[noreturn]] void refuse(const std::string& message) { throw std::invalid_argument(message); }

// parallel.data x parallel.modes against the launch's ranks.
std::pair<int, int> resolve_grid(const config::ParallelConfig& p, int world) {
  int d = p.data.value, m = p.modes.value;
  if (p.data.is_auto() && p.modes.is_auto()) m = 1;
  if (p.data.is_auto()) {
    if (world % m != 0)
      refuse(
          fmt::format("parallel.modes = {} does not divide the {} ranks of this launch; accepted: a divisor of {} "
                      "(parallel.data x parallel.modes must equal the number of ranks)",
                      m, world, world));
    d = world / m;
  } else if (p.modes.is_auto()) {
    if (world % d != 0)
      refuse(fmt::format("parallel.data = {} does not divide the {} ranks of this launch; accepted: a divisor of {}", d,
                         world, world));
    m = world / d;
  }
  if (d * m != world)
    refuse(
        fmt::format("parallel.data x parallel.modes = {} x {} = {} but {} ranks were launched; accepted: values whose "
                    "product is the number of ranks (or one of them auto)",
                    d, m, d * m, world));
  return {d, m};
}

std::string on_off(bool on) { return on ? "on" : "off"; }

}  // namespace

const char* backend_name(BackendKind b) {
  switch (b) {
    case BackendKind::kLocal:
      return "local";
    case BackendKind::kMpi:
      return "mpi";
    case BackendKind::kNccl:
      return "nccl";
  }
  return "?";
}

Capabilities detect_capabilities() {
  Capabilities caps;
  caps.visible_gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
#ifdef FOURMI_HAVE_NCCL
  caps.nccl = true;
#endif
  return caps;
}

ParallelPlan resolve_plan(const config::Config& config, const distributed::LaunchInfo& launch,
                          const Capabilities& caps) {
  const config::RunConfig& r = config.run;
  const config::ParallelConfig& p = config.parallel;
  ParallelPlan plan;
  auto decide = [&](const char* key, const std::string& value, const std::string& why) {
    plan.decisions.emplace_back(key, value + " (" + why + ")");
  };

  // Device.
  if (r.device == config::DeviceKind::kCuda && caps.visible_gpus == 0)
    refuse("run.device is 'cuda' but no CUDA device is visible; accepted here: run.device=cpu or auto");
  plan.cuda = r.device != config::DeviceKind::kCpu && caps.visible_gpus > 0;
  if (plan.cuda && launch.local_size > caps.visible_gpus)
    refuse(
        fmt::format("{} ranks on host {} but only {} visible GPUs: start at most one rank per GPU "
                    "(mpirun -np / srun --ntasks-per-node) or set run.device=cpu",
                    launch.local_size, launch.host, caps.visible_gpus));
  plan.device_index = plan.cuda ? launch.local_rank % caps.visible_gpus : 0;
  decide(
      "run.device", plan.cuda ? fmt::format("cuda:{}", plan.device_index) : "cpu",
      r.device == config::DeviceKind::kAuto ? (plan.cuda ? "auto: a GPU per rank" : "auto: no GPU visible") : "as set");

  // Process grid.
  std::tie(plan.data_ranks, plan.mode_ranks) = resolve_grid(p, launch.world_size);
  decide("parallel.data x modes", fmt::format("{} x {}", plan.data_ranks, plan.mode_ranks),
         fmt::format("{} ranks on {} node(s)", launch.world_size, launch.world_size / std::max(1, launch.local_size)));

  // Backend.
  const bool multi = launch.multi_rank();
  if (!multi) {
    plan.backend = BackendKind::kLocal;
  } else if (p.backend == config::Backend::kMpi) {
    plan.backend = BackendKind::kMpi;
  } else {
    const bool asked = p.backend == config::Backend::kNccl;
    if (asked && !plan.cuda)
      refuse(
          "parallel.backend=nccl needs a GPU run, but this run is on the CPU (run.device, visible GPUs); accepted: "
          "parallel.backend=mpi or auto");
    if (plan.cuda && !caps.nccl)
      refuse(
          "a GPU run of several ranks needs NCCL, and this fourmi was built without it; accepted: run.device=cpu with "
          "parallel.backend=mpi or auto, or a build with NCCL");
    plan.backend = plan.cuda ? BackendKind::kNccl : BackendKind::kMpi;
  }
  decide("parallel.backend", backend_name(plan.backend),
         !multi                                ? "one process"
         : p.backend == config::Backend::kAuto ? (plan.cuda ? "auto: GPU ranks" : "auto: CPU ranks")
                                               : "as set");
  const bool nccl = plan.backend == BackendKind::kNccl;
  const bool data_parallel = plan.data_ranks > 1;

  // Keys that only the NCCL backend implements.
  if (multi && !nccl) {
    const char* b = backend_name(plan.backend);
    if (p.copy_engine_gather == Switch::kOn)
      refuse(fmt::format(
          "parallel.copy_engine_gather=true needs the NCCL backend, and this run uses {}; accepted: auto or false", b));
    if (p.copy_engine_reduce_scatter == Switch::kOn)
      refuse(
          fmt::format("parallel.copy_engine_reduce_scatter=true needs the NCCL backend, and this run uses {}; "
                      "accepted: auto or false",
                      b));
    if (p.bf16_compress && data_parallel)
      refuse(fmt::format(
          "parallel.bf16_compress=true needs the NCCL backend (MPI has no bf16 reduction), and this run uses {}; "
          "accepted: false, or a GPU run with parallel.backend=nccl or auto",
          b));
  }

  // ZeRO-1 over the data group.
  plan.shard_optimizer = p.shard_optimizer && data_parallel;
  decide("parallel.shard_optimizer", on_off(plan.shard_optimizer),
         !p.shard_optimizer ? "as set"
         : data_parallel    ? "as set"
                            : "one data rank: nothing to shard");

  // Copy-engine collectives.
  if (p.copy_engine_gather == Switch::kOn) {
    if (plan.mode_ranks > 1)
      refuse(
          "parallel.copy_engine_gather=true needs parallel.modes=1 (with mode parallelism the data groups' gathers run "
          "on "
          "NCCL's kernels); accepted with parallel.modes > 1: auto, false");
    if (!p.shard_optimizer)
      refuse(
          "parallel.copy_engine_gather=true: without parallel.shard_optimizer there are no parameter all-gathers; "
          "accepted: "
          "auto or false, or parallel.shard_optimizer: true");
  }
  const bool one_node = launch.local_size == launch.world_size;
  switch (p.copy_engine_gather) {
    case Switch::kOn:
      plan.copy_engine_gather = nccl && data_parallel;
      break;
    case Switch::kOff:
      plan.copy_engine_gather = false;
      break;
    case Switch::kAuto:
      plan.copy_engine_gather = nccl && plan.shard_optimizer && one_node && plan.mode_ranks == 1;
      break;
  }
  decide("parallel.copy_engine_gather", on_off(plan.copy_engine_gather),
         p.copy_engine_gather != Switch::kAuto
             ? (plan.copy_engine_gather || p.copy_engine_gather == Switch::kOff ? "as set" : "one data rank")
         : !nccl                 ? "auto: not NCCL"
         : !plan.shard_optimizer ? "auto: no sharded optimizer"
         : !one_node             ? "auto: several nodes"
         : plan.mode_ranks > 1   ? "auto: mode parallelism"
                                 : "auto: one node, sharded optimizer");
  if (p.copy_engine_reduce_scatter == Switch::kOn && nccl && data_parallel && !plan.copy_engine_gather)
    refuse(
        "parallel.copy_engine_reduce_scatter=true reduces in the copy-engine gather buffers, and "
        "parallel.copy_engine_gather "
        "resolved to off for this launch; accepted: auto or false, or parallel.copy_engine_gather: true");
  plan.copy_engine_reduce_scatter = plan.copy_engine_gather && p.copy_engine_reduce_scatter != Switch::kOff;
  decide("parallel.copy_engine_reduce_scatter", on_off(plan.copy_engine_reduce_scatter),
         p.copy_engine_reduce_scatter == Switch::kAuto ? "auto: with copy-engine gathers" : "as set");

  // Compute stream.
  if (r.compute_stream == config::ComputeStream::kDedicated && !plan.cuda)
    refuse(
        "run.compute_stream=dedicated needs a GPU run, and this run is on the CPU; accepted on the CPU: auto or "
        "legacy");
  plan.dedicated_stream =
      plan.cuda &&
      (r.compute_stream == config::ComputeStream::kDedicated ||
       (r.compute_stream == config::ComputeStream::kAuto && (plan.copy_engine_gather || launch.world_size == 1)));
  if (plan.cuda)
    decide("run.compute_stream", plan.dedicated_stream ? "dedicated" : "legacy",
           r.compute_stream != config::ComputeStream::kAuto ? "as set"
           : plan.dedicated_stream ? (launch.world_size == 1 ? "auto: one rank" : "auto: copy-engine collectives")
                                   : "auto: collectives on NCCL's kernels");

  // Buckets.
  const double shard_min_mb = p.shard_min_mb.is_auto() ? (plan.copy_engine_gather ? 1.0 : 0.0) : p.shard_min_mb.value;
  plan.shard_min_bytes = static_cast<int64_t>(shard_min_mb * (1 << 20));
  plan.bucket_bytes = static_cast<int64_t>(p.bucket_mb * (1 << 20));
  if (plan.shard_optimizer)
    decide("parallel.shard_min_mb", fmt::format("{}", shard_min_mb),
           !p.shard_min_mb.is_auto() ? "as set"
           : plan.copy_engine_gather ? "auto: copy-engine collectives"
                                     : "auto");
  // CUDA graph of the training step: one rank (no collectives inside the step), no host checks.
  const config::Switch graph = config.train.cuda_graph;
  if (graph == Switch::kOn) {
    if (!plan.cuda)
      refuse("train.cuda_graph=true needs a GPU run, and this run is on the CPU; accepted on the CPU: auto or false");
    if (multi)
      refuse(fmt::format(
          "train.cuda_graph=true captures steps of one rank, and this launch has {} ranks; accepted: auto or false",
          launch.world_size));
    if (config.debug.check_finite)
      refuse(
          "train.cuda_graph=true cannot replay debug.check_finite's host checks; accepted with debug.check_finite: "
          "auto or false");
  }
  plan.cuda_graph = graph != Switch::kOff && plan.cuda && !multi && !config.debug.check_finite;
  if (plan.cuda)
    decide("train.cuda_graph", on_off(plan.cuda_graph),
           graph != Switch::kAuto ? "as set"
           : plan.cuda_graph      ? "auto: one GPU rank"
           : multi                ? "auto: several ranks"
                                  : "auto: debug.check_finite");
  plan.bf16_compress = p.bf16_compress;
  plan.grad_into_bucket = p.grad_into_bucket;
  plan.timeout_s = p.timeout_s;
  plan.tf32 = r.tf32;
  plan.deterministic = config.debug.deterministic;
  plan.sync_launches = config.debug.sync;
  return plan;
}

distributed::ReducerOptions reducer_options(const ParallelPlan& plan) {
  distributed::ReducerOptions o;
  o.bucket_bytes = plan.bucket_bytes;
  o.bf16_compress = plan.bf16_compress;
  o.shard = plan.shard_optimizer;
  o.shard_min_bytes = plan.shard_min_bytes;
  o.grad_into_bucket = plan.grad_into_bucket;
  return o;
}

std::string format_plan(const ParallelPlan& plan) {
  size_t w = 0;
  for (const auto& d : plan.decisions) w = std::max(w, d.first.size());
  std::string out = "resolved for this launch:\n";
  for (const auto& [key, value] : plan.decisions) out += fmt::format("  {:<{}}  {}\n", key, w, value);
  return out;
}

}  // namespace fourmi::runtime
