// The safetensors layer of checkpoints: round trip, and every damaged or malformed file refused by name.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "../test_util.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/safetensors.h"

using namespace fourmi::util;
using fourmi::testing::error_of;

namespace {
std::string write_sample(const std::string& path) {
  const std::vector<float> w = {1.5f, -2.f, 3.25f, 0.f, 7.f, 8.f};
  const std::vector<int64_t> step = {42};
  SafetensorsWriter out;
  out.add("param/w", "F32", {2, 3}, w.data(), w.size() * sizeof(float));
  out.add("step/w", "I64", {}, step.data(), sizeof(int64_t));
  out.set_metadata("epoch", "3");
  out.write(path, "test file");
  return read_text(path);
}
void overwrite(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}
}  // namespace

TEST(Safetensors, RoundTrip) {
  fourmi::testing::TempDir tmp;
  const std::string path = tmp / "a.safetensors";
  write_sample(path);
  SafetensorsReader in(path);
  EXPECT_EQ(in.names(), (std::vector<std::string>{"param/w", "step/w"}));
  EXPECT_EQ(in.metadata("epoch"), std::optional<std::string>("3"));
  EXPECT_FALSE(in.metadata("nothing").has_value());
  const SafetensorsEntry& e = in.entry("param/w");
  EXPECT_EQ(e.dtype, "F32");
  EXPECT_EQ(e.shape, (std::vector<int64_t>{2, 3}));
  std::vector<float> w(6);
  in.read("param/w", w.data(), 24);
  EXPECT_EQ(w, (std::vector<float>{1.5f, -2.f, 3.25f, 0.f, 7.f, 8.f}));
  int64_t step = 0;
  in.read("step/w", &step, 8);
  EXPECT_EQ(step, 42);
  EXPECT_NE(error_of([&] { in.entry("param/v"); }).find("no tensor 'param/v'"), std::string::npos);
}

TEST(Safetensors, HeaderIsTheLayoutsJsonAndDataIsAligned) {
  fourmi::testing::TempDir tmp;
  const std::string bytes = write_sample(tmp / "a.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);  // little-endian on every machine fourmi builds for
  EXPECT_EQ(n % 8, 0u);
  const std::string header = bytes.substr(8, n);
  EXPECT_NE(header.find("\"param/w\":{\"data_offsets\":[0,24],\"dtype\":\"F32\",\"shape\":[2,3]}"), std::string::npos)
      << header;
  EXPECT_NE(header.find("\"crc32/param/w\":\""), std::string::npos) << header;
  EXPECT_EQ(bytes.size(), 8 + n + 24 + 8);
}

TEST(Safetensors, DamagedDataFailsItsChecksum) {
  fourmi::testing::TempDir tmp;
  const std::string path = tmp / "a.safetensors";
  std::string bytes = write_sample(path);
  bytes[bytes.size() - 10] ^= 0x40;  // a bit of param/w's data
  overwrite(path, bytes);
  SafetensorsReader in(path);
  std::vector<float> w(6);
  std::string e = error_of([&] { in.read("param/w", w.data(), 24); });
  EXPECT_NE(e.find(path + ": tensor 'param/w' fails its checksum"), std::string::npos) << e;
}

TEST(Safetensors, MalformedFilesRefusedNamingTheFile) {
  fourmi::testing::TempDir tmp;
  const std::string path = tmp / "a.safetensors";
  const std::string good = write_sample(path);
  uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  auto refused = [&](const std::string& bytes, const std::string& why) {
    overwrite(path, bytes);
    std::string e = error_of([&] { SafetensorsReader in(path); });
    EXPECT_NE(e.find(path + ": "), std::string::npos) << e;
    EXPECT_NE(e.find(why), std::string::npos) << e;
  };
  refused("", "too short");
  refused(good.substr(0, good.size() - 4), "outside the file");  // truncated
  std::string huge = good;
  huge[7] = 0x7f;  // header length beyond the file
  refused(huge, "does not fit the file");
  std::string header = good.substr(8, n);
  auto with_header = [&](std::string h) {
    h.append((8 - h.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    const uint64_t len = h.size();
    std::memcpy(out.data(), &len, 8);
    return out + h + good.substr(8 + n);
  };
  refused(with_header("[1, 2]"), "not a JSON object");
  refused(with_header("{\"t\": {\"dtype\": \"Q8\", \"shape\": [1], \"data_offsets\": [0, 1]}}"), "dtype is not one of");
  refused(with_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}"), "non-negative");
  refused(with_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 4]}}"), "does not match");
  refused(with_header("{\"t\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 0]}}"),
          "does not match");
  refused(with_header("{\"__metadata__\": {\"a\": 1}}"), "is not a string");
}
