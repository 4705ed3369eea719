// host.h — this machine's name and this process's command line, for launch detection,
// error messages and result files.
#pragma once

#include <string>

namespace fourmi::util {

std::string hostname();
// The command line as given to main (set once by main; empty before).
void set_command_line(int argc, char** argv);
const std::string& command_line();

}  // namespace fourmi::util
