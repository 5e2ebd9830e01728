// Thread placement for the apps. EAL pins the main thread to its lcore, and threads started
// from it inherit that single-core mask; a helper thread that should run beside the main
// one (a ring consumer, a second sending queue) is placed on the next lcore EAL was given.
#pragma once

#include <pthread.h>
#include <rte_lcore.h>
#include <sched.h>

namespace pkio::apps {

/// The `slot`-th EAL lcore: slot 0 is the main lcore, then the others in their order (as
/// -l or --lcores gave them), wrapping around when there are fewer lcores than slots. So
/// threads go on the cores the user gave EAL, as in any DPDK application.
inline unsigned lcore_of_slot(unsigned slot) noexcept {
  const unsigned count = rte_lcore_count();
  unsigned lcore = rte_get_main_lcore();
  for (unsigned k = 0; k < (count ? slot % count : 0); ++k) lcore = rte_get_next_lcore(lcore, 1, 1);
  return lcore;
}

/// Pins the calling thread to the CPUs of the `slot`-th EAL lcore (see lcore_of_slot).
inline void run_on_lcore(unsigned slot) noexcept {
  rte_cpuset_t set = rte_lcore_cpuset(lcore_of_slot(slot));
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/// The first CPU of the `slot`-th EAL lcore, for interfaces that take one CPU number.
inline int cpu_of_lcore(unsigned slot) noexcept {
  rte_cpuset_t set = rte_lcore_cpuset(lcore_of_slot(slot));
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) return cpu;
  return -1;
}

}  // namespace pkio::apps
