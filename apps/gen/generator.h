// pkio-gen's sending side: one QueueSender per TX queue, each a protocol bound to its own
// run-to-completion adapter over a DpdkMiniport, sending pre-built frames from a fixed pool
// and getting every one back through send_complete. Frames come from the streams (built
// once, only their changing fields rewritten per send) or from a pcap trace.
#pragma once

#include "live_count.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <pkio/adapter.h>
#include <pkio/dpdk/stack.h>
#include <pkio/dpdk/port.h>
#include <pkio/dpdk/telemetry.h>
#include "csv_log.h"
#include "frames.h"
#include "options.h"
#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>
#include "pacer.h"
#include "trace.h"

namespace pkio::gen {

/// Totals of one queue, readable from another thread while it runs.
struct QueueTotals {
  std::atomic<uint64_t> sent{0};          ///< packets handed to send_packets
  std::atomic<uint64_t> bytes{0};         ///< their frame bytes as they leave (tags included, no FCS)
  std::atomic<uint64_t> failed_bytes{0};  ///< of those, the bytes of packets completed with an error
};

/// Bytes an 802.1Q tag adds to a frame.
inline constexpr uint32_t tag_bytes = 4;

struct Reserved;

class QueueSender {
 public:
  /// Builds the pool of frames and the adapter on `queue` of `port`; `trace` (may be null)
  /// replaces the streams; `csv` (may be null) gets a row per completed packet. failure with a
  /// one-line `error`.
  static Status create(dpdk::Port& port, uint16_t queue, const Options& options, const Trace* trace,
                       std::unique_ptr<CsvLog> csv, std::unique_ptr<QueueSender>& out, std::string& error);
  ~QueueSender();

  /// Sends until `stop` is set, the count is reached, the trace's loops are done or time is
  /// up; then completes everything in flight (bounded by `drain_timeout_s`). Own thread.
  void run(const std::atomic<bool>& stop, uint64_t count, double duration_s, double rate_pps,
           double drain_timeout_s);

  [[nodiscard]] const QueueTotals& totals() const noexcept { return totals_; }
  [[nodiscard]] Adapter& adapter() noexcept { return lane_->adapter(); }
  [[nodiscard]] bool drained() const noexcept { return drained_; }
  /// TSC at the first submission (0: nothing sent) and when the last completion was seen.
  [[nodiscard]] uint64_t first_submit_cycles() const noexcept { return first_submit_; }
  [[nodiscard]] uint64_t last_completion_cycles() const noexcept { return last_completion_; }
  [[nodiscard]] uint64_t first_completion_cycles() const noexcept { return first_completion_; }
  /// Packets the device (tx_burst) had taken when the sending time was up, and in all.
  [[nodiscard]] uint64_t accepted_in_time() const noexcept { return accepted_in_time_; }
  [[nodiscard]] uint64_t accepted() noexcept { return lane_->miniport().stats().accepted; }
  /// The per-packet CSV, if --csv was given.
  [[nodiscard]] CsvLog* csv() noexcept { return csv_.get(); }
  /// Packets sent by stream `index` of this queue (its flow's sequence numbers 0..n-1).
  [[nodiscard]] uint64_t stream_sent(size_t index) const noexcept { return streams_[index].sent; }
  /// The flow number of stream `index` on this queue (in the stamps' sequence numbers).
  [[nodiscard]] uint32_t flow_of(size_t index) const noexcept { return streams_[index].flow; }
  /// Streams on this queue (0 when replaying a trace).
  [[nodiscard]] size_t stream_count() const noexcept { return streams_.size(); }

 private:
  /// One stream on this queue: its frames' layout, its share of the pool, where it is.
  struct Stream {
    const StreamSpec* spec = nullptr;
    FrameLayout layout;
    uint32_t flow = 0;
    std::vector<Packet*> free;        // ready to send, most recently completed last
    std::vector<uint32_t> sizes;      // a mix, in sending order (shuffled once)
    size_t next_size = 0;
    apps::LiveCount sent;             // the next sequence number (read live by --metrics)
    struct Varying {
      uint32_t offset;
      unsigned width;
      FieldRange range;
    };
    std::vector<Varying> varying;     // fields that change per packet
    uint32_t tag = 0;                 // bytes the miniport's 802.1Q tag adds to each frame
    bool stamp_only = false;          // one size, no varying field, not SYN: a send only restamps
  };

  QueueSender() = default;
  static void on_send_complete(void* context, Packet* const* packets, uint32_t n) noexcept;
  Status build_streams(uint16_t queue, int socket, std::string& error);
  Status build_replay(int socket, std::string& error);
  // Inlined into run(): it runs once per packet sent (a call cost a few percent of the rate).
  [[gnu::always_inline]] inline Packet* next_stream_packet(uint64_t now) noexcept;
  /// next_stream_packet for up to `due` packets of a lone stamp-only stream: the generator's
  /// common case, with none of the per-packet checks for sizes, fields or streams.
  [[gnu::always_inline]] inline uint32_t next_stamped_packets(Packet** out, uint32_t due, uint64_t now) noexcept;
  Packet* next_replay_packet() noexcept;
  void log_completions(Packet* const* packets, uint32_t n) noexcept;
  /// A packet's frame as it leaves the port (its tag included).
  [[nodiscard]] uint32_t wire_size(const Reserved& r) const noexcept;
  [[nodiscard]] size_t free_packets() const noexcept;

  Options options_;
  uint16_t queue_ = 0;
  std::unique_ptr<dpdk::Lane> lane_;  // the miniport on this queue and the adapter over it
  std::unique_ptr<dpdk::TelemetryEntry> telemetry_;  // "gen.qN" in /pkio/* telemetry commands
  Binding* binding_ = nullptr;
  std::unique_ptr<PacketPool> packets_;
  std::unique_ptr<BufferPool> buffers_;
  uint8_t* frames_ = nullptr;            // rte_malloc'd: DMA-able for a real NIC
  std::vector<Stream> streams_;
  std::vector<uint16_t> schedule_;       // stream of each send, in turn (weights)
  size_t next_in_schedule_ = 0;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull; // xorshift64 for random sizes and fields
  const Trace* trace_ = nullptr;
  size_t next_frame_ = 0;                // replay: next frame of the trace
  uint64_t replay_limit_ = 0;            // replay: frames to send in all (0: no limit)
  uint64_t replayed_ = 0;
  std::unique_ptr<CsvLog> csv_;
  uint64_t first_submit_ = 0, first_completion_ = 0, last_completion_ = 0, accepted_in_time_ = 0;
  double ns_per_cycle_ = 1;
  QueueTotals totals_;
  bool drained_ = false;
};

}  // namespace pkio::gen
