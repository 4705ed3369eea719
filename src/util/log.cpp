#include "fourmi/util/log.h"

#include <unistd.h>

#include <cstdio>
#include <stdexcept>

namespace fourmi::util {
namespace {
int g_rank = 0;  // process-wide, written once before any thread starts
int g_world = 1;
std::FILE* g_file = nullptr;  // per-rank log (debug.rank_logs)
}  // namespace

void set_rank_log_file(const std::string& path) {
  if (g_file) std::fclose(g_file);
  g_file = path.empty() ? nullptr : std::fopen(path.c_str(), "a");
  if (!path.empty() && !g_file) throw std::runtime_error("cannot open the rank log " + path);
  if (g_file) std::setvbuf(g_file, nullptr, _IOLBF, 0);
}

void set_log_rank(int rank, int world_size) {
  g_rank = rank;
  g_world = world_size;
}
int log_rank() { return g_rank; }
bool stdout_is_tty() { return ::isatty(fileno(stdout)) != 0; }

void log_line(const std::string& line, bool all_ranks) {
  if (g_file) std::fprintf(g_file, "%s\n", line.c_str());
  if (!all_ranks && g_rank != 0) return;
  if (g_world > 1 && all_ranks)
    std::printf("[rank %d] %s\n", g_rank, line.c_str());
  else
    std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace fourmi::util
