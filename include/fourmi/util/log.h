// log.h — rank-aware console output. Rank 0 speaks for the job unless `all_ranks` is asked.
#pragma once

#include <fmt/format.h>

#include <string>

namespace fourmi::util {

// Set once at start-up by the CLI after launch detection.
void set_log_rank(int rank, int world_size);
int log_rank();
void log_line(const std::string& line, bool all_ranks = false);
// Also writes every line of this rank (rank 0's and the others', silenced on the console) to
// `path`, line-buffered; used by debug.rank_logs. Empty path closes it.
void set_rank_log_file(const std::string& path);
bool stdout_is_tty();

template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  log_line(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace fourmi::util
