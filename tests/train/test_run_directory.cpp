// The run directory: one writer at a time, a used directory refused for a fresh start, stale
// temporary files removed, metrics past the resumed checkpoint dropped.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <functional>
#include <vector>

#include "../test_util.h"
#include "fourmi/train/metrics.h"
#include "fourmi/train/run_directory.h"
#include "fourmi/util/fs.h"

using namespace fourmi;
using fourmi::testing::error_of;
namespace fs = std::filesystem;

namespace {
void touch(const std::string& path) {
  util::make_dirs(fs::path(path).parent_path().string());
  std::ofstream(path) << "x";
}
}  // namespace

TEST(RunDirectory, SecondLockRefusedNamingTheHolder) {
  fourmi::testing::TempDir tmp;
  train::RunDirectoryLock first(tmp / "run");
  std::string e = error_of([&] { train::RunDirectoryLock second(tmp / "run"); });
  EXPECT_NE(e.find("in use by another fourmi process"), std::string::npos) << e;
  EXPECT_NE(e.find("pid " + std::to_string(::getpid())), std::string::npos) << e;
}

TEST(RunDirectory, LockReleasedWithItsHolder) {
  fourmi::testing::TempDir tmp;
  { train::RunDirectoryLock first(tmp / "run"); }
  EXPECT_EQ(error_of([&] { train::RunDirectoryLock again(tmp / "run"); }), "");
}

TEST(RunDirectory, FreshStartRefusedWhereARunIs) {
  fourmi::testing::TempDir tmp;
  EXPECT_EQ(error_of([&] { train::prepare_run_directory(tmp / "run", train::RunStart::kFresh); }), "");
  touch(tmp / "run/checkpoints/ckpt-000004.safetensors");
  std::string e = error_of([&] { train::prepare_run_directory(tmp / "run", train::RunStart::kFresh); });
  EXPECT_NE(e.find("ckpt-000004.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("--resume"), std::string::npos) << e;
  EXPECT_NE(e.find("--overwrite"), std::string::npos) << e;
  EXPECT_EQ(error_of([&] { train::prepare_run_directory(tmp / "run", train::RunStart::kResume); }), "");
  EXPECT_TRUE(fs::exists(tmp / "run/checkpoints/ckpt-000004.safetensors"));
}

TEST(RunDirectory, OverwriteDeletesThePreviousRunsOutputsOnly) {
  fourmi::testing::TempDir tmp;
  for (const char* f : {"checkpoints/ckpt-000002.safetensors", "metrics.jsonl", "result.json",
                        "profile/rank-00000.json", "config.yaml", "notes.txt"})
    touch(tmp / ("run/" + std::string(f)));
  train::prepare_run_directory(tmp / "run", train::RunStart::kOverwrite);
  EXPECT_FALSE(fs::exists(tmp / "run/checkpoints"));
  EXPECT_FALSE(fs::exists(tmp / "run/metrics.jsonl"));
  EXPECT_FALSE(fs::exists(tmp / "run/result.json"));
  EXPECT_FALSE(fs::exists(tmp / "run/profile"));
  EXPECT_TRUE(fs::exists(tmp / "run/notes.txt"));  // not fourmi's
  EXPECT_EQ(error_of([&] { train::prepare_run_directory(tmp / "run", train::RunStart::kFresh); }), "");
}

TEST(RunDirectory, StaleTemporaryFilesRemovedLiveOnesKept) {
  fourmi::testing::TempDir tmp;
  // A pid above the kernel's pid_max (4194304) never runs; this process's own does.
  const std::string dead = tmp / "run/checkpoints/ckpt-000003.safetensors.tmp.99999999";
  const std::string live = tmp / ("run/metrics.jsonl.tmp." + std::to_string(::getpid()));
  touch(dead);
  touch(live);
  touch(tmp / "run/checkpoints/ckpt-000002.safetensors");
  train::RunDirectoryLock lock(tmp / "run");
  EXPECT_EQ(lock.removed_temp_files(), 1);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(tmp / "run/checkpoints/ckpt-000002.safetensors"));
}

TEST(Metrics, ResumeDropsTheEpochsPastTheCheckpoint) {
  fourmi::testing::TempDir tmp;
  const std::string path = tmp / "metrics.jsonl";
  {
    train::MetricsWriter w(path, -1);
    for (int e = 1; e <= 5; ++e) w.write({{"epoch", e}});
  }
  std::ofstream(path, std::ios::app) << "{\"epoch\": 6, \"train";  // cut short by a kill
  {
    train::MetricsWriter w(path, 3);
    w.write({{"epoch", 4}, {"again", true}});
  }
  std::istringstream lines(util::read_text(path));
  std::vector<int> epochs;
  for (std::string line; std::getline(lines, line);) {
    const nlohmann::json rec = nlohmann::json::parse(line);  // every kept line whole
    epochs.push_back(rec["epoch"].get<int>());
    EXPECT_TRUE(rec["wall_time"].is_number()) << line;  // stamped by the writer
    EXPECT_EQ(rec.contains("again"), epochs.back() == 4) << line;
  }
  EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3, 4}));
  train::MetricsWriter fresh(path, -1);
  EXPECT_EQ(util::read_text(path), "");
}

TEST(AtomicFile, WriteErrorNamesThePathAndLeavesNothing) {
  fourmi::testing::TempDir tmp;
  const std::string path = tmp / "out.bin";
  // A child process whose file-size limit is 4 KB: writing 64 KB fails with EFBIG, as a full disk
  // fails with ENOSPC. The child reports commit()'s message through a pipe.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit {
      4096, 4096
    };
    ::setrlimit(RLIMIT_FSIZE, &limit);
    std::string message = "no error";
    try {
      util::AtomicFile f(path);
      std::vector<char> bytes(65536, 'x');
      f.write(bytes.data(), bytes.size());
      f.commit("test file");
    } catch (const std::exception& e) {
      message = e.what();
    }
    (void)!::write(fds[1], message.data(), message.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  ::waitpid(child, nullptr, 0);
  EXPECT_NE(message.find(path + ": cannot write test file"), std::string::npos) << message;
  EXPECT_NE(message.find("errno " + std::to_string(EFBIG)), std::string::npos) << message;
  EXPECT_TRUE(fs::is_empty(tmp.str())) << "a partial or temporary file was left";
}

TEST(AtomicFile, CommitReplacesAtomically) {
  fourmi::testing::TempDir tmp;
  util::atomic_write_text(tmp / "a.txt", "old");
  util::AtomicFile f(tmp / "a.txt");
  f.write("new", 3);
  EXPECT_EQ(util::read_text(tmp / "a.txt"), "old");  // readers see the old file until commit
  f.commit();
  EXPECT_EQ(util::read_text(tmp / "a.txt"), "new");
  EXPECT_TRUE(util::is_temp_file_name("ckpt-000001.safetensors.tmp.1234"));
  EXPECT_FALSE(util::is_temp_file_name("ckpt-000001.safetensors"));
  EXPECT_FALSE(util::is_temp_file_name("x.tmp.12a"));
}
