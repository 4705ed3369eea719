// fuzz_manifest.cpp — libFuzzer harness of the dataset manifest reader (manifest.json).
// Input: the file's bytes. Accepted outcomes: a manifest (which must round-trip through to_json)
// or a std::runtime_error naming the file; anything else is a finding.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "fourmi/data/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    std::string d = "/dev/shm/fourmi-fuzz-manifest-" + std::to_string(::getpid());
    ::mkdir(d.c_str(), 0755);
    return d;
  }();
  {
    std::ofstream out(dir + "/manifest.json", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const fourmi::data::Manifest m = fourmi::data::Manifest::load(dir);
    const auto again = fourmi::data::Manifest::from_json(m.to_json(), "round trip");
    if (again.to_json().dump() != m.to_json().dump()) std::abort();  // dump: NaN statistics compare as null
  } catch (const std::runtime_error&) {
  }
  return 0;
}
