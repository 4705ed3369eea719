// launch.h — who am I: rank, world size, local rank and node, from whichever launcher started us.
#pragma once

#include <map>
#include <string>

namespace fourmi::distributed {

struct LaunchInfo {
  std::string launcher = "single";  // single | mpirun | srun | env
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_size = 1;
  int node = 0;
  std::string host;
  bool multi_rank() const { return world_size > 1 || launcher == "mpirun" || launcher == "srun"; }
};

// Reads Open MPI's OMPI_COMM_WORLD_*, Slurm's SLURM_PROCID/SLURM_LOCALID/SLURM_NTASKS/SLURM_NODEID,
// or the generic RANK/WORLD_SIZE/LOCAL_RANK, in that order; none of them means a single process.
// `env` overrides the process environment (tests).
LaunchInfo detect_launch(const std::map<std::string, std::string>* env = nullptr);

}  // namespace fourmi::distributed
