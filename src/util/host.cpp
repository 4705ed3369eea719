#include "fourmi/util/host.h"

#include <unistd.h>

namespace fourmi::util {

std::string hostname() {
  char h[256] = {0};
  ::gethostname(h, sizeof(h) - 1);
  return h;
}

}  // namespace fourmi::util
