/// @file
/// LatencyHistogram: a log-linear histogram of durations (in cycles) that records without
/// allocating or locking, for submit-to-completion latency.
///
/// Buckets: values below 8 have one bucket each; above, each power of two is split into 8
/// equal sub-buckets, so any value is placed within 12.5 % of its size. Recording is one
/// count-leading-zeros and one increment. Single writer (the adapter's worker); readers on
/// other threads see relaxed, possibly slightly stale counts.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace pkio {

/// Log-linear histogram of durations; see the file comment.
class LatencyHistogram {
 public:
  /// Bits of sub-bucket resolution per power of two (8 sub-buckets: within 12.5 %).
  static constexpr unsigned sub_bits = 3;
  /// Number of buckets, covering every 64-bit value.
  static constexpr unsigned bucket_count = (64 - sub_bits + 1) << sub_bits;

  /// The bucket `value` falls into.
  [[nodiscard]] static constexpr unsigned bucket_of(uint64_t value) noexcept {
    if (value < (1u << sub_bits)) return static_cast<unsigned>(value);
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(value));
    const unsigned sub = static_cast<unsigned>(value >> (msb - sub_bits)) & ((1u << sub_bits) - 1);
    return ((msb - sub_bits + 1) << sub_bits) + sub;
  }
  /// Smallest value that falls into `bucket`.
  [[nodiscard]] static constexpr uint64_t bucket_low(unsigned bucket) noexcept {
    if (bucket < (1u << sub_bits)) return bucket;
    const unsigned msb = (bucket >> sub_bits) + sub_bits - 1;
    const uint64_t sub = bucket & ((1u << sub_bits) - 1);
    return (uint64_t{1} << msb) | (sub << (msb - sub_bits));
  }

  /// Adds `count` samples of `value`. Single writer.
  void record(uint64_t value, uint64_t count = 1) noexcept {
    auto& b = buckets_[bucket_of(value)];
    b.store(b.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
    total_.store(total_.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
    sum_.store(sum_.load(std::memory_order_relaxed) + value * count, std::memory_order_relaxed);
    if (value > max_.load(std::memory_order_relaxed)) max_.store(value, std::memory_order_relaxed);
  }

  /// Number of samples recorded.
  [[nodiscard]] uint64_t count() const noexcept { return total_.load(std::memory_order_relaxed); }
  /// The sum of all samples (exact).
  [[nodiscard]] uint64_t sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  /// The largest sample (exact); 0 if empty.
  [[nodiscard]] uint64_t max() const noexcept { return max_.load(std::memory_order_relaxed); }
  /// Samples in bucket `bucket` (see bucket_low for its range).
  [[nodiscard]] uint64_t bucket_count_of(unsigned bucket) const noexcept {
    return buckets_[bucket].load(std::memory_order_relaxed);
  }
  /// A percentile's resolution: a value is placed within this fraction of itself.
  static constexpr double resolution = 1.0 / (1u << sub_bits);

  /// The value below which `fraction` (0..1) of the samples fall (bucket midpoint, so within
  /// `resolution` of the true value, and never above the maximum: in the top bucket the
  /// midpoint may be); 0 if empty; at 1.0 the exact maximum.
  [[nodiscard]] uint64_t percentile(double fraction) const noexcept {
    const uint64_t total = count();
    if (total == 0) return 0;
    if (fraction >= 1.0) return max();
    auto rank = static_cast<uint64_t>(fraction * static_cast<double>(total));
    if (rank >= total) rank = total - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < bucket_count; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen > rank) {
        const uint64_t low = bucket_low(i);
        const uint64_t high = i + 1 < bucket_count ? bucket_low(i + 1) : low;
        return std::min(low + (high - low) / 2, max());
      }
    }
    return bucket_low(bucket_count - 1);
  }

  /// Adds another histogram's samples (reports over several adapters). Not concurrent with
  /// writes to this one.
  void merge(const LatencyHistogram& other) noexcept {
    for (unsigned i = 0; i < bucket_count; ++i)
      buckets_[i].store(buckets_[i].load(std::memory_order_relaxed) +
                            other.buckets_[i].load(std::memory_order_relaxed),
                        std::memory_order_relaxed);
    total_.store(total_.load(std::memory_order_relaxed) + other.count(), std::memory_order_relaxed);
    sum_.store(sum_.load(std::memory_order_relaxed) + other.sum(), std::memory_order_relaxed);
    if (other.max() > max()) max_.store(other.max(), std::memory_order_relaxed);
  }

  /// Forgets every sample. Not concurrent with record().
  void reset() noexcept {
    for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
    total_.store(0, std::memory_order_relaxed);
    sum_.store(0, std::memory_order_relaxed);
    max_.store(0, std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, bucket_count> buckets_{};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> max_{0};
};

/// Records the latencies of packets completed at one instant, `now`, into a histogram, one
/// record() per run of packets submitted at the same instant (every packet of one
/// send_packets call shares its submit time) instead of one per packet: per packet a compare.
class LatencyRuns {
 public:
  /// Packets added are recorded into `histogram` as completed at cycle `now`.
  LatencyRuns(LatencyHistogram& histogram, uint64_t now) noexcept : histogram_(histogram), now_(now) {}
  LatencyRuns(const LatencyRuns&) = delete;
  LatencyRuns& operator=(const LatencyRuns&) = delete;
  ~LatencyRuns() { flush(); }

  /// A packet submitted at `submit_cycles`.
  void add(uint64_t submit_cycles) noexcept {
    if (submit_cycles == submit_ && count_ != 0) {
      ++count_;
      return;
    }
    flush();
    submit_ = submit_cycles;
    count_ = 1;
  }

  /// Records the current run now (the destructor does it too).
  void flush() noexcept {
    if (count_ != 0) histogram_.record(now_ - submit_, count_);
    count_ = 0;
  }

 private:
  LatencyHistogram& histogram_;
  uint64_t now_;
  uint64_t submit_ = 0;
  uint64_t count_ = 0;
};

}  // namespace pkio
