// pkio-gen's receive side for loopback setups (a net_ring port, a veth pair under
// net_af_packet): counts the frames that come back, and from their stamps the loss,
// reordering, duplicates and one-way latency of each flow.
#pragma once

#include "live_count.h"

#include <atomic>
#include <cstdint>
#include <vector>

#include <pkio/latency_histogram.h>
#include "frames.h"

namespace pkio::gen {

/// What one flow (one stream on one queue) has seen, from the sequence numbers in its stamps.
class FlowTracker {
 public:
  /// Sequence numbers this far behind the newest cannot be told apart as late or duplicate;
  /// they count as reordered.
  static constexpr uint64_t window = 4096;

  /// Records sequence number `sequence`.
  void record(uint64_t sequence) noexcept;
  // LiveCount: read by the metrics endpoint while the receiver runs.
  apps::LiveCount received;    ///< frames with this flow's stamp
  apps::LiveCount duplicates;  ///< seen before (within the window)
  apps::LiveCount reordered;   ///< arrived after a higher sequence number
  [[nodiscard]] uint64_t unique() const noexcept { return received - duplicates; }

 private:
  bool started_ = false;
  uint64_t highest_ = 0;
  std::vector<uint64_t> seen_ = std::vector<uint64_t>(window / 64);  // bit per sequence mod window
  bool test_and_set(uint64_t sequence) noexcept;
};

/// The sequence number in a stamp: the flow in the top 16 bits, the count within it below.
inline constexpr unsigned flow_shift = 48;
inline uint64_t make_sequence(uint32_t flow, uint64_t count) noexcept {
  return static_cast<uint64_t>(flow) << flow_shift | (count & ((uint64_t{1} << flow_shift) - 1));
}

/// Totals of the receive side.
struct ReceiveTotals {
  apps::LiveCount frames;        ///< everything received
  apps::LiveCount ours;          ///< with a pkio-gen stamp of a known flow
  apps::LiveCount other;         ///< anything else (the kernel's own frames on a veth)
  apps::LiveCount bad_checksum;  ///< ours, with an IPv4 or transport checksum that fails
  LatencyHistogram latency;   ///< transmit stamp to receipt, TSC cycles
};

/// Polls RX queue 0 of a port on its own thread; see the file comment.
class Receiver {
 public:
  /// Follows flows first_flow .. first_flow + flows - 1; stamps of any other flow count as other.
  Receiver(uint16_t port_id, uint32_t flows, uint32_t first_flow = 0)
      : port_id_(port_id), first_flow_(first_flow), flows_(flows) {}
  /// Receives until `stop` is set and then until nothing arrived for `quiet_ms` (so the frames
  /// still on their way are counted), at most `drain_ms` after the stop.
  void run(const std::atomic<bool>& stop, unsigned quiet_ms, unsigned drain_ms);
  /// Frames received so far (readable while it runs).
  [[nodiscard]] uint64_t frames() const noexcept { return frames_.load(std::memory_order_relaxed); }
  [[nodiscard]] const ReceiveTotals& totals() const noexcept { return totals_; }
  /// Flow `index` (counted from first_flow).
  [[nodiscard]] const FlowTracker& flow(uint32_t index) const noexcept { return flows_[index]; }
  [[nodiscard]] uint32_t flow_count() const noexcept { return static_cast<uint32_t>(flows_.size()); }

 private:
  uint16_t port_id_;
  uint32_t first_flow_;
  std::vector<FlowTracker> flows_;
  ReceiveTotals totals_;
  std::atomic<uint64_t> frames_{0};
};

}  // namespace pkio::gen
