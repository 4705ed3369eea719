#include "fourmi/runtime/stop_signals.h"

#include <csignal>
#include <stdexcept>

namespace fourmi::runtime {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;  // written only by on_stop_signal
volatile std::sig_atomic_t g_installed = 0;
constexpr int kSignals[] = {SIGUSR1, SIGTERM, SIGINT};
struct sigaction g_previous[3];

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal == 0) {
    g_stop_signal = sig;
    return;
  }
  if (sig == SIGTERM || sig == SIGINT) {  // asked twice: stop now
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

}  // namespace

StopSignals::StopSignals() {
  if (g_installed) throw std::logic_error("StopSignals: one per process");
  g_installed = 1;
  g_stop_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and collectives in progress carry on
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &action, &g_previous[i]);
}

StopSignals::~StopSignals() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
  g_installed = 0;
}

int StopSignals::requested() { return g_stop_signal; }

const char* StopSignals::name(int signal) {
  switch (signal) {
    case SIGUSR1:
      return "SIGUSR1";
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    default:
      return "a signal";
  }
}

}  // namespace fourmi::runtime
