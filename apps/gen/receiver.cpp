#include "receiver.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <pkio/cycles.h>

namespace pkio::gen {

bool FlowTracker::test_and_set(uint64_t sequence) noexcept {
  const uint64_t bit = sequence % window;
  uint64_t& word = seen_[bit / 64];
  const uint64_t mask = uint64_t{1} << (bit % 64);
  const bool was = (word & mask) != 0;
  word |= mask;
  return was;
}

void FlowTracker::record(uint64_t sequence) noexcept {
  ++received;
  if (!started_ || sequence > highest_) {
    // Forget the window slots the new highest passes over: they now stand for newer numbers.
    const uint64_t from = started_ ? highest_ + 1 : sequence;
    if (sequence - from >= window) {
      std::fill(seen_.begin(), seen_.end(), 0);
    } else {
      for (uint64_t s = from; s < sequence; ++s) seen_[(s % window) / 64] &= ~(uint64_t{1} << (s % window % 64));
    }
    started_ = true;
    highest_ = sequence;
    seen_[(sequence % window) / 64] |= uint64_t{1} << (sequence % window % 64);
    return;
  }
  if (sequence == highest_ || (highest_ - sequence < window && test_and_set(sequence))) {
    ++duplicates;
    return;
  }
  ++reordered;
}

void Receiver::run(const std::atomic<bool>& stop, unsigned quiet_ms, unsigned drain_ms) {
  constexpr uint16_t burst = 64;
  rte_mbuf* mbufs[burst];
  static thread_local uint8_t linear[16384];  // a chained mbuf's bytes, copied out to parse
  const uint64_t hz = cycles_per_second();
  uint64_t last_frame = rte_rdtsc(), stop_seen = 0;
  for (;;) {
    const uint16_t n = rte_eth_rx_burst(port_id_, 0, mbufs, burst);
    const uint64_t now = rte_rdtsc();
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = mbufs[i];
      const uint32_t length = rte_pktmbuf_pkt_len(m);
      const auto* bytes = length <= sizeof linear
                              ? static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, length, linear)) : nullptr;
      const FrameInfo info = bytes ? inspect_frame(bytes, length) : FrameInfo{};
      const uint32_t flow = static_cast<uint32_t>(info.sequence >> flow_shift) - first_flow_;  // wraps if below
      if (info.ours && flow < flows_.size()) {
        ++totals_.ours;
        if (!info.checksums_ok) ++totals_.bad_checksum;
        flows_[flow].record(info.sequence & ((uint64_t{1} << flow_shift) - 1));
        totals_.latency.record((now - info.timestamp) & timestamp_mask);  // modulo 2^48 cycles
      } else {
        ++totals_.other;
      }
    }
    if (n > 0) {
      // Freeing the mbufs is what completes zero-copy packets sent over a net_ring loop.
      rte_pktmbuf_free_bulk(mbufs, n);
      totals_.frames += n;
      frames_.store(totals_.frames, std::memory_order_relaxed);
      last_frame = now;
    }
    if (stop.load(std::memory_order_relaxed)) {
      if (stop_seen == 0) stop_seen = now;
      if (now - last_frame > quiet_ms * hz / 1000 || now - stop_seen > drain_ms * hz / 1000) break;
    }
  }
}

}  // namespace pkio::gen
