// stall_rank.cpp — a test program, not part of fourmi: every rank starts fourmi's runtime from the
// default config (with `--set` overrides), rank R sleeps S seconds, then all enter a barrier. The
// collective watchdog must end every rank with a message naming R. With `start`, rank R sleeps
// before the runtime starts (before MPI_Init): the start-up watchdog must end the job.
//   mpirun -np 3 fault_stall_rank R S [start] [--set parallel.timeout_s=3 ...]
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "fourmi/config/config_loader.h"
#include "fourmi/runtime/run_context.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: fault_stall_rank RANK SECONDS [start] [--set key=value ...]\n";
    return 2;
  }
  const int stall_rank = std::atoi(argv[1]);
  const double seconds = std::atof(argv[2]);
  const bool at_start = argc > 3 && std::string(argv[3]) == "start";
  std::vector<std::string> overrides{"run.device=cpu"};
  for (int i = at_start ? 4 : 3; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--set") overrides.push_back(argv[i + 1]);
  auto config = fourmi::config::load_config_text(fourmi::config::embedded_default_config(), "default", overrides);
  const char* env_rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (at_start && env_rank && std::atoi(env_rank) == stall_rank)
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  fourmi::runtime::RunContext ctx(config);
  if (!at_start && ctx.launch().rank == stall_rank) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  ctx.world().barrier();
  return 0;
}
