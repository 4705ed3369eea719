#include "fourmi/train/run_directory.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "fourmi/train/checkpoint.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/host.h"

namespace fourmi::train {
namespace fs = std::filesystem;

RunDirectoryLock::RunDirectoryLock(const std::string& dir) {
  util::make_dirs(dir);
  const std::string path = (fs::path(dir) / ".lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(fmt::format("{}: cannot open the run lock: {}", path, util::errno_text(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder = util::read_text(path);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw std::runtime_error(fmt::format(
          "{}: the run directory is in use by another fourmi process ({}); wait for it to end, or choose another "
          "run.name",
          dir, holder.empty() ? "pid unknown" : holder));
    throw std::runtime_error(fmt::format("{}: cannot lock the run directory: {}", path, util::errno_text(err)));
  }
  const std::string me = fmt::format("pid {} on {}", ::getpid(), util::hostname());
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
    // the holder's name is for messages only
  }
  removed_ = remove_stale_temp_files(dir);
}

RunDirectoryLock::~RunDirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

int remove_stale_temp_files(const std::string& dir) {
  int removed = 0;
  for (const char* sub : {"", "checkpoints", "profile", "logs"}) {  // where fourmi writes
    const fs::path d = fs::path(dir) / sub;
    std::error_code ec;
    if (!fs::is_directory(d, ec)) continue;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      const std::string name = e.path().filename().string();
      if (!util::is_temp_file_name(name)) continue;
      const long pid = std::stol(name.substr(name.rfind(".tmp.") + 5));
      if (pid == ::getpid() || (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0)) continue;  // its writer lives
      if (::unlink(e.path().c_str()) == 0) ++removed;
    }
  }
  return removed;
}

void prepare_run_directory(const std::string& dir, RunStart start) {
  const fs::path d(dir);
  const std::vector<fs::path> outputs = {d / "checkpoints", d / "metrics.jsonl", d / "result.json", d / "eval.json",
                                         d / "profile"};
  if (start == RunStart::kOverwrite) {
    for (const auto& p : outputs) util::remove_tree(p.string());
    return;
  }
  if (start != RunStart::kFresh) return;
  auto latest = latest_checkpoint((d / "checkpoints").string());
  const bool metrics = fs::exists(d / "metrics.jsonl");
  if (!latest && !metrics) return;
  std::string what = latest ? fmt::format("checkpoints up to {}", fs::path(*latest).filename().string())
                            : std::string("the metrics of an earlier run");
  throw std::runtime_error(fmt::format(
      "{}: the run directory already holds a run ({}); continue it with --resume, start over with --overwrite "
      "(deletes its checkpoints, metrics, results and profiles), or choose another run.name",
      dir, what));
}

}  // namespace fourmi::train
