/// @file
/// A cheap cycle counter for timestamps on the data path, and its frequency.
/// On x86-64 it is the TSC (what rte_rdtsc reads); elsewhere steady_clock nanoseconds.
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace pkio {

/// Current cycle count. Not serializing: good for intervals of microseconds and up.
inline uint64_t read_cycles() noexcept {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

/// Cycles per second of read_cycles(), measured once against the monotonic clock (about
/// 20 ms) on first use. pkio's tools pace and time with it, not with rte_get_tsc_hz().
uint64_t cycles_per_second() noexcept;

/// Converts a number of cycles to nanoseconds.
inline double cycles_to_ns(double cycles) noexcept {
  return cycles * 1e9 / static_cast<double>(cycles_per_second());
}

}  // namespace pkio
