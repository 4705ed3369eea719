// StopSignals: the three signals become a flag while it lives; their previous handlers return after.
#include <gtest/gtest.h>

#include <csignal>

#include "fourmi/runtime/stop_signals.h"

using fourmi::runtime::StopSignals;

namespace {
volatile std::sig_atomic_t g_previous_ran = 0;
extern "C" void previous_handler(int) { g_previous_ran = 1; }
}  // namespace

TEST(StopSignals, FirstSignalIsRecordedAndTheProcessLives) {
  for (int sig : {SIGUSR1, SIGTERM, SIGINT}) {
    StopSignals signals;
    EXPECT_EQ(StopSignals::requested(), 0);
    std::raise(sig);  // would end the process without the handler
    EXPECT_EQ(StopSignals::requested(), sig);
    std::raise(SIGUSR1);  // a later SIGUSR1 does not replace the first
    EXPECT_EQ(StopSignals::requested(), sig);
  }
}

TEST(StopSignals, PreviousHandlersRestored) {
  std::signal(SIGUSR1, previous_handler);
  { StopSignals signals; }
  std::raise(SIGUSR1);
  EXPECT_EQ(g_previous_ran, 1);
  std::signal(SIGUSR1, SIG_DFL);
}

TEST(StopSignals, OnePerProcess) {
  StopSignals signals;
  EXPECT_THROW(StopSignals second, std::logic_error);
}

TEST(StopSignals, Names) {
  EXPECT_STREQ(StopSignals::name(SIGUSR1), "SIGUSR1");
  EXPECT_STREQ(StopSignals::name(SIGTERM), "SIGTERM");
  EXPECT_STREQ(StopSignals::name(SIGHUP), "a signal");
}
