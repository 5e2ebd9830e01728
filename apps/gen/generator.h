// pkio-gen's sending side: one QueueSender per TX queue, each a protocol bound to its own
// run-to-completion adapter over a DpdkMiniport, sending pre-built frames from a fixed pool
// and getting every one back through send_complete.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dispatcher/adapter.h"
#include "dpdk/dpdk_miniport.h"
#include "dpdk/port.h"
#include "frames.h"
#include "options.h"
#include "packet/buffer_pool.h"
#include "packet/packet_pool.h"

namespace pkio::gen {

/// Totals of one queue, readable from another thread while it runs.
struct QueueTotals {
  std::atomic<uint64_t> sent{0};       ///< packets handed to send_packets
  std::atomic<uint64_t> bytes{0};      ///< their frame bytes
};

class QueueSender {
 public:
  /// Builds the pool of frames and the adapter on `queue` of `port`. failure with `error`.
  static Status create(dpdk::Port& port, uint16_t queue, const Options& options,
                       std::unique_ptr<QueueSender>& out, std::string& error);
  ~QueueSender();

  /// Sends until `stop` is set, the count is reached or time is up; then completes everything
  /// in flight (bounded by `drain_timeout_s`). Runs on its own thread.
  void run(const std::atomic<bool>& stop, uint64_t count, double duration_s, double rate_pps,
           double drain_timeout_s);

  [[nodiscard]] const QueueTotals& totals() const noexcept { return totals_; }
  [[nodiscard]] Adapter& adapter() noexcept { return *adapter_; }
  [[nodiscard]] bool drained() const noexcept { return drained_; }

 private:
  QueueSender() = default;
  static void on_send_complete(void* context, Packet* const* packets, uint32_t n) noexcept;

  Options options_;
  std::unique_ptr<dpdk::DpdkMiniport> miniport_;
  std::unique_ptr<Adapter> adapter_;
  Binding* binding_ = nullptr;
  std::unique_ptr<PacketPool> packets_;
  std::unique_ptr<BufferPool> buffers_;
  uint8_t* frames_ = nullptr;            // rte_malloc'd: DMA-able for a real NIC
  std::vector<Packet*> free_;            // packets back from send_complete, ready to send
  QueueTotals totals_;
  bool drained_ = false;
};

}  // namespace pkio::gen
