// stall_rank.cpp — a test program, not part of fourmi: every rank starts fourmi's runtime from the
// default config (with `--set` overrides), rank R sleeps S seconds, then all enter a barrier. The
// collective watchdog must end every rank with a message naming R.
//   mpirun -np 3 fault_stall_rank R S [--set parallel.timeout_s=3 ...]
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
    std::cerr << "usage: fault_stall_rank RANK SECONDS [--set key=value ...]\n";
    return 2;
  }
  const int stall_rank = std::atoi(argv[1]);
  const double seconds = std::atof(argv[2]);
  std::vector<std::string> overrides{"run.device=cpu"};
  for (int i = 3; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--set") overrides.push_back(argv[i + 1]);
  auto config = fourmi::config::load_config_text(fourmi::config::embedded_default_config(), "default", overrides);
  fourmi::runtime::RunContext ctx(config);
  if (ctx.launch().rank == stall_rank) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  ctx.world().barrier();
  return 0;
}
