#include <pkio/cycles.h>

#include <thread>

namespace pkio {

uint64_t cycles_per_second() noexcept {
  static const uint64_t hz = [] {
#if defined(__x86_64__)
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t c0 = read_cycles();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const uint64_t c1 = read_cycles();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - t0).count();
    return static_cast<uint64_t>(static_cast<double>(c1 - c0) * 1e9 / static_cast<double>(ns));
#else
    return uint64_t{1'000'000'000};
#endif
  }();
  return hz;
}

}  // namespace pkio
