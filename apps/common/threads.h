// Thread placement for the apps. EAL pins the main thread to its lcore, and threads started
// from it inherit that single-core mask; a helper thread that should run beside the main
// one (a ring consumer, a second sending queue) is placed on the next lcore EAL was given.
#pragma once

#include <pthread.h>
#include <rte_lcore.h>
#include <sched.h>

namespace pkio::apps {

/// The EAL lcores in slot order: the main lcore, then the others by id. Only lcores EAL was
/// given (-l, --lcores): threads registered later (rte_thread_register) are not among them,
/// though rte_lcore_count() counts them. Returns how many, at most RTE_MAX_LCORE.
inline unsigned eal_lcores(unsigned (&order)[RTE_MAX_LCORE]) noexcept {
  unsigned n = 0;
  order[n++] = rte_get_main_lcore();
  for (unsigned lcore = 0; lcore < RTE_MAX_LCORE; ++lcore)
    if (rte_lcore_is_enabled(lcore) && lcore != order[0]) order[n++] = lcore;
  return n;
}

/// How many lcores EAL was given (see eal_lcores).
inline unsigned eal_lcore_count() noexcept {
  unsigned order[RTE_MAX_LCORE];
  return eal_lcores(order);
}

/// The `slot`-th EAL lcore (see eal_lcores), wrapping around when there are fewer lcores than
/// slots. So threads go on the cores the user gave EAL, as in any DPDK application.
inline unsigned lcore_of_slot(unsigned slot) noexcept {
  unsigned order[RTE_MAX_LCORE];
  return order[slot % eal_lcores(order)];
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
