// LiveCount: a count one thread writes and others read while it runs (live metrics, progress).
#pragma once

#include <atomic>
#include <cstdint>

namespace pkio::apps {

/// A single writer's count, readable from any thread: relaxed loads and stores, no locked
/// instruction (on x86 a plain load and store), so counting costs what a plain integer does.
class LiveCount {
 public:
  LiveCount() = default;
  LiveCount(uint64_t v) noexcept : value_(v) {}  // NOLINT: used as the integer it counts
  LiveCount(const LiveCount& other) noexcept : value_(other.get()) {}
  LiveCount& operator=(const LiveCount& other) noexcept { return *this = other.get(); }
  LiveCount& operator=(uint64_t v) noexcept {
    value_.store(v, std::memory_order_relaxed);
    return *this;
  }
  LiveCount& operator+=(uint64_t n) noexcept { return *this = get() + n; }
  LiveCount& operator++() noexcept { return *this += 1; }
  uint64_t operator++(int) noexcept {
    const uint64_t was = get();
    *this = was + 1;
    return was;
  }
  [[nodiscard]] uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }
  operator uint64_t() const noexcept { return get(); }  // NOLINT

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace pkio::apps
