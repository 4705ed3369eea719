#include "fourmi/util/host.h"

#include <unistd.h>

namespace fourmi::util {
namespace {
std::string& stored_command_line() {
  static std::string s;
  return s;
}
}  // namespace

std::string hostname() {
  char h[256] = {0};
  ::gethostname(h, sizeof(h) - 1);
  return h;
}

void set_command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    bool quote = a.find_first_of(" \t'\"$") != std::string::npos;
    s += (i ? " " : "") + (quote ? "'" + a + "'" : a);
  }
  stored_command_line() = s;
}

const std::string& command_line() { return stored_command_line(); }

}  // namespace fourmi::util
