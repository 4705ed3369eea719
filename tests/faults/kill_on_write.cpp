// kill_on_write.cpp — a test program, not part of fourmi: waits (inotify) until the N-th
// temporary file ("*.tmp.<pid>") in DIR is written to, then sends SIGKILL to PID at once, so that
// the kill lands inside a write (before the temporary file is renamed onto its final name).
//   fault_kill_on_write DIR PID [N=1] [TIMEOUT_S=120]     exit 0: killed; 1: timed out or error
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: fault_kill_on_write DIR PID [N] [TIMEOUT_S]\n");
    return 2;
  }
  const pid_t pid = static_cast<pid_t>(std::atol(argv[2]));
  const int nth = argc > 3 ? std::atoi(argv[3]) : 1;
  const double timeout_s = argc > 4 ? std::atof(argv[4]) : 120;
  int fd = inotify_init1(IN_CLOEXEC);
  if (fd < 0 || inotify_add_watch(fd, argv[1], IN_MODIFY | IN_CREATE) < 0) {
    std::perror("inotify");
    return 1;
  }
  int seen = 0;
  std::string last;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  alignas(inotify_event) char buf[8192];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    for (char* at = buf; n > 0 && at < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(at);
      at += sizeof(inotify_event) + ev->len;
      if (ev->len == 0 || !(ev->mask & IN_MODIFY) || !std::strstr(ev->name, ".tmp.")) continue;
      if (last != ev->name) {  // count files, not write calls
        last = ev->name;
        if (++seen == nth) {
          kill(pid, SIGKILL);
          std::printf("killed %d while it wrote %s\n", static_cast<int>(pid), ev->name);
          return 0;
        }
      }
    }
  }
  std::fprintf(stderr, "fault_kill_on_write: no write to a temporary file in %s within %.0f s\n", argv[1], timeout_s);
  return 1;
}
