// host.h — this machine's name, for launch detection and error messages.
#pragma once

#include <string>

namespace fourmi::util {

std::string hostname();

}  // namespace fourmi::util
