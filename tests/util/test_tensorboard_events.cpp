// TensorBoard event files: the CRC-32C of the framing, and a file whose records decode back to
// the scalars written (the format is also read by TensorBoard itself in tests/e2e/check_tensorboard.py).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "../test_util.h"
#include "fourmi/util/fs.h"
#include "fourmi/util/tensorboard_events.h"

using namespace fourmi::util;

namespace {
uint32_t unmasked(uint32_t m) {
  const uint32_t r = m - 0xa282ead8u;
  return (r >> 17) | (r << 15);
}
template <class T>
T field_at(const std::string& s, size_t pos) {
  T v;
  std::memcpy(&v, s.data() + pos, sizeof(T));
  return v;
}
}  // namespace

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the CRC-32C check value
  EXPECT_EQ(crc32c("", 0), 0u);
  const std::string a = "fourmi ", b = "events";
  EXPECT_EQ(crc32c(b.data(), b.size(), crc32c(a.data(), a.size())), crc32c((a + b).data(), a.size() + b.size()));
}

TEST(TensorBoardWriter, RecordsAreFramedAndHoldTheScalars) {
  fourmi::testing::TempDir dir;
  std::string path;
  {
    TensorBoardWriter w(dir / "tb");
    path = w.path();
    w.add_scalar("train_rel_l2", 3, 0.25, 1.7e9);
    w.add_scalar("lr", 4, 1e-3, 1.7e9 + 1);
    w.flush();
  }
  EXPECT_NE(std::filesystem::path(path).filename().string().find("events.out.tfevents."), std::string::npos);
  const std::string file = read_text(path);
  std::vector<std::string> events;
  for (size_t pos = 0; pos < file.size();) {
    ASSERT_LE(pos + 12, file.size());
    const uint64_t n = field_at<uint64_t>(file, pos);
    EXPECT_EQ(unmasked(field_at<uint32_t>(file, pos + 8)), crc32c(file.data() + pos, 8));
    ASSERT_LE(pos + 12 + n + 4, file.size());
    const std::string data = file.substr(pos + 12, n);
    EXPECT_EQ(unmasked(field_at<uint32_t>(file, pos + 12 + n)), crc32c(data.data(), data.size()));
    events.push_back(data);
    pos += 12 + n + 4;
  }
  ASSERT_EQ(events.size(), 3u);
  EXPECT_NE(events[0].find("brain.Event:2"), std::string::npos);  // the file version comes first
  // Event: wall_time (field 1, fixed64), step (field 2, varint), summary (field 5) holding
  // Value {tag (field 1), simple_value (field 2, fixed32)}.
  const std::string& e = events[1];
  EXPECT_EQ(static_cast<unsigned char>(e[0]), 0x09);
  EXPECT_EQ(field_at<double>(e, 1), 1.7e9);
  EXPECT_EQ(static_cast<unsigned char>(e[9]), 0x10);
  EXPECT_EQ(e[10], 3);
  const size_t tag = e.find("train_rel_l2");
  ASSERT_NE(tag, std::string::npos);
  EXPECT_EQ(static_cast<unsigned char>(e[tag + 12]), 0x15);
  EXPECT_EQ(field_at<float>(e, tag + 13), 0.25f);
  EXPECT_NE(events[2].find("lr"), std::string::npos);
}

TEST(TensorBoardWriter, UncreatableDirectoryNamed) {
  fourmi::testing::TempDir dir;
  const std::string blocker = dir / "file";  // a file where the directory should go
  atomic_write_text(blocker, "x");
  const std::string err = fourmi::testing::error_of([&] { TensorBoardWriter w(blocker + "/tb"); });
  EXPECT_NE(err.find(blocker), std::string::npos) << err;
}
