// cmd_report.cpp — `fourmi report RUN... --out DIR`: hands over to tools/fourmi_report.py.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "fourmi/cli/commands.h"

namespace fourmi::cli {

int run_report(const std::vector<std::string>& args) {
  const char* tools_env = std::getenv("FOURMI_TOOLS_DIR");
  const char* python_env = std::getenv("FOURMI_PYTHON");
  std::string tools = tools_env ? tools_env : FOURMI_TOOLS_DIR_DEFAULT;
  std::string python = python_env ? python_env : FOURMI_PYTHON_DEFAULT;
  std::string script = tools + "/fourmi_report.py";
  if (!std::filesystem::exists(script))
    throw std::runtime_error(fmt::format(
        "fourmi report: {} not found; set FOURMI_TOOLS_DIR to the tools/ directory of the fourmi source tree", script));
  std::vector<std::string> argv_s{python, script};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_s.size() + 1);
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execvp(python.c_str(), argv.data());
  throw std::runtime_error(
      fmt::format("fourmi report: cannot run '{}' (set FOURMI_PYTHON to a Python with matplotlib)", python));
}

}  // namespace fourmi::cli
