#include <pkio/cycles.h>

#include <thread>

namespace pkio {

#if defined(__x86_64__)
namespace {

/// A cycle count and the monotonic clock at the same moment: the clock read between two
/// counter reads, the tightest of a few tries, so that an interrupt between them cannot skew it.
struct ClockPair {
  uint64_t cycles;
  int64_t ns;
};

ClockPair read_clock_pair() noexcept {
  ClockPair best{};
  uint64_t best_gap = UINT64_MAX;
  for (int i = 0; i < 8; ++i) {
    const uint64_t before = read_cycles();
    const auto now = std::chrono::steady_clock::now();
    const uint64_t after = read_cycles();
    if (after - before < best_gap) {
      best_gap = after - before;
      best = {before + (after - before) / 2,
              std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()};
    }
  }
  return best;
}

}  // namespace
#endif

uint64_t cycles_per_second() noexcept {
  // Measured against the system's clock rather than taken from the CPU's nominal frequency
  // (what rte_get_tsc_hz reports): under a hypervisor the TSC can run a few tenths of a
  // percent off its nominal rate, and every rate and pace would be off by as much.
  static const uint64_t hz = [] {
#if defined(__x86_64__)
    const ClockPair start = read_clock_pair();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const ClockPair end = read_clock_pair();
    return static_cast<uint64_t>(static_cast<double>(end.cycles - start.cycles) * 1e9 /
                                 static_cast<double>(end.ns - start.ns));
#else
    return uint64_t{1'000'000'000};
#endif
  }();
  return hz;
}

}  // namespace pkio
