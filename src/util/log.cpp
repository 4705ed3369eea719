#include "fourmi/util/log.h"

#include <unistd.h>

#include <cstdio>

namespace fourmi::util {
namespace {
int g_rank = 0;   // process-wide, written once before any thread starts
int g_world = 1;
}  // namespace

void set_log_rank(int rank, int world_size) {
  g_rank = rank;
  g_world = world_size;
}
int log_rank() { return g_rank; }
bool stdout_is_tty() { return ::isatty(fileno(stdout)) != 0; }

void log_line(const std::string& line, bool all_ranks) {
  if (!all_ranks && g_rank != 0) return;
  if (g_world > 1 && all_ranks) std::printf("[rank %d] %s\n", g_rank, line.c_str());
  else std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace fourmi::util
