// Thread placement for the apps. EAL pins the main thread to its lcore, and threads started
// from it inherit that single-core mask; a helper thread that should run beside the main
// one (a ring consumer, a second sending queue) must be given other cores explicitly.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <thread>

namespace pkio::apps {

/// Lets the calling thread run on any core of the machine.
inline void run_anywhere() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  const unsigned n = std::thread::hardware_concurrency();
  for (unsigned c = 0; c < (n ? n : 1) && c < CPU_SETSIZE; ++c) CPU_SET(c, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/// Pins the calling thread to `core` (modulo the number of cores).
inline void run_on(unsigned core) noexcept {
  const unsigned n = std::thread::hardware_concurrency();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(n ? core % n : 0, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace pkio::apps
