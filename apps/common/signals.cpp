#include "signals.h"

#include <pthread.h>

#include <csignal>

namespace pkio::apps {

namespace {
std::atomic<bool> stopping{false};
std::atomic<int> first_signal{0};
std::atomic<unsigned> signals_seen{0};

void on_stop(int signal) {
  int none = 0;
  first_signal.compare_exchange_strong(none, signal);
  signals_seen.fetch_add(1);
  stopping.store(true);
}
}  // namespace

void install_stop_signals() noexcept {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  struct sigaction action {};
  action.sa_handler = on_stop;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a signal does not make reads and writes fail with EINTR
  sigset_t stops;
  sigemptyset(&stops);
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) {
    sigaction(s, &action, nullptr);
    sigaddset(&stops, s);
  }
  std::signal(SIGPIPE, SIG_IGN);
  // Blocked across a re-execution (fix_address_layout), so that one sent meanwhile waits for
  // these handlers: delivered now.
  pthread_sigmask(SIG_UNBLOCK, &stops, nullptr);
}

const std::atomic<bool>& stop_requested() noexcept { return stopping; }

int stop_signal() noexcept { return first_signal.load(); }

unsigned stop_signals_seen() noexcept { return signals_seen.load(); }

const char* stop_signal_name() noexcept {
  switch (first_signal.load()) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "";
  }
}

}  // namespace pkio::apps
