#include "fourmi/distributed/launch.h"
#include "fourmi/util/host.h"

#include <fmt/format.h>

#include <cstdlib>
#include <stdexcept>

namespace fourmi::distributed {
namespace {

struct EnvReader {
  const std::map<std::string, std::string>* env;
  bool has(const char* k) const { return env ? env->count(k) > 0 : std::getenv(k) != nullptr; }
  std::string get(const char* k) const {
    if (env) {
      auto it = env->find(k);
      return it == env->end() ? "" : it->second;
    }
    const char* v = std::getenv(k);
    return v ? v : "";
  }
  int integer(const char* k, int fallback) const {
    if (!has(k)) return fallback;
    std::string v = get(k);
    try {
      size_t pos = 0;
      int n = std::stoi(v, &pos);
      if (pos == v.size() && n >= 0) return n;
    } catch (...) {
    }
    throw std::runtime_error(fmt::format("environment variable {}='{}' is not a non-negative integer", k, v));
  }
};

}  // namespace

LaunchInfo detect_launch(const std::map<std::string, std::string>* env) {
  EnvReader e{env};
  LaunchInfo info;
  info.host = util::hostname();
  if (e.has("OMPI_COMM_WORLD_SIZE")) {
    info.launcher = "mpirun";
    info.rank = e.integer("OMPI_COMM_WORLD_RANK", 0);
    info.world_size = e.integer("OMPI_COMM_WORLD_SIZE", 1);
    info.local_rank = e.integer("OMPI_COMM_WORLD_LOCAL_RANK", 0);
    info.local_size = e.integer("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
    info.node = e.integer("OMPI_COMM_WORLD_NODE_RANK", 0);
    // srun --mpi=pmix also sets OMPI_* through PMIx; report the launcher the user ran.
    if (e.has("SLURM_PROCID") && e.has("SLURM_STEP_ID")) {
      info.launcher = "srun";
      info.node = e.integer("SLURM_NODEID", info.node);
    }
  } else if (e.has("SLURM_PROCID") && e.has("SLURM_NTASKS") && e.has("SLURM_STEP_ID")) {
    // Inside an sbatch script but outside srun there is no step: SLURM_NTASKS is the allocation, not us.
    info.launcher = "srun";
    info.rank = e.integer("SLURM_PROCID", 0);
    info.world_size = e.integer("SLURM_NTASKS", 1);
    info.local_rank = e.integer("SLURM_LOCALID", 0);
    // SLURM_STEP_TASKS_PER_NODE reads like "2" or "2(x3)": the leading count is ours.
    std::string per_node = e.get("SLURM_STEP_TASKS_PER_NODE");
    info.local_size = per_node.empty() ? info.world_size : std::atoi(per_node.c_str());
    info.node = e.integer("SLURM_NODEID", 0);
  } else if (e.has("WORLD_SIZE") && e.has("RANK")) {
    info.launcher = "env";
    info.rank = e.integer("RANK", 0);
    info.world_size = e.integer("WORLD_SIZE", 1);
    info.local_rank = e.integer("LOCAL_RANK", info.rank);
    info.local_size = e.integer("LOCAL_WORLD_SIZE", info.world_size);
    info.node = e.integer("GROUP_RANK", 0);
  }
  if (info.rank >= info.world_size)
    throw std::runtime_error(
        fmt::format("launcher '{}' gave rank {} >= world size {}", info.launcher, info.rank, info.world_size));
  return info;
}

}  // namespace fourmi::distributed
