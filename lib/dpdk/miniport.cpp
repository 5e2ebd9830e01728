// The DPDK miniport: creation, lifetimes, the poll step (reaping, link), reset and halt, and
// requests (R24, R26). The send path is in miniport_send.cpp.
#include <pkio/dpdk/miniport.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <algorithm>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <cstring>

#include "dpdk/mbuf_slots.h"

namespace pkio::dpdk {

namespace {
constexpr uint32_t vlan_tag = 4;

bool cpu_is_intel() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  unsigned max_leaf = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0, &max_leaf, &b, &c, &d) == 0) return false;
  return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e;  // "Genu" "ineI" "ntel"
#else
  return false;
#endif
}

/// The release signal for `choice`. automatic: a locked decrement costs more on the Intel
/// CPUs measured than the mempool driver's call and store; on the AMD ones, less.
ReleaseSignal signal_for(ReleaseDetection choice) noexcept {
  switch (choice) {
    case ReleaseDetection::reference_count: return ReleaseSignal::reference_count;
    case ReleaseDetection::mempool_driver: return ReleaseSignal::pool_return;
    case ReleaseDetection::automatic: break;
  }
  return cpu_is_intel() ? ReleaseSignal::pool_return : ReleaseSignal::reference_count;
}
}  // namespace

Result<std::unique_ptr<DpdkMiniport>> DpdkMiniport::create(Port& port, const MiniportConfig& config) {
  if (config.queue_id >= port.tx_queues())
    return failure_of(Status::failure, "port " + std::to_string(port.id()) + " has no TX queue " +
                                           std::to_string(config.queue_id) + " (it has " +
                                           std::to_string(port.tx_queues()) + ")");
  if (config.maximum_send_packets == 0)
    return failure_of(Status::invalid_data, "maximum_send_packets must be at least 1");
  if (config.holder_wait_ms > 1000)
    return failure_of(Status::invalid_data,
                      "holder_wait_ms must be at most 1000 (got " + std::to_string(config.holder_wait_ms) + ")");
  if (config.deserialized && config.backlog == 0)
    return failure_of(Status::invalid_data, "a deserialized miniport needs a backlog of at least 1");
  std::unique_ptr<DpdkMiniport> m(new DpdkMiniport(port, config));
  port.miniports_.push_back(m.get());  // told if the port goes first
  if (config.completion == CompletionMode::on_free) {
    const uint32_t slots = config.zero_copy_slots != 0 ? config.zero_copy_slots
                                                       : 2u * port.tx_descriptors();
    if (auto made = m->slots_->create(port.mempool(), slots, signal_for(config.release_detection)); !made)
      return tl::unexpected(made.error());
  }
  // Never more per call than the TX ring holds, nor than the dispatcher hands over.
  m->config_.maximum_send_packets =
      std::min({config.maximum_send_packets, static_cast<uint32_t>(port.tx_descriptors()), max_batch});
  m->iova_is_va_ = rte_eal_iova_mode() == RTE_IOVA_VA;
  m->link_poll_cycles_ = rte_get_timer_hz() * config.link_poll_ms / 1000;
  if (config.deserialized) m->backlog_ = std::make_unique<Packet*[]>(config.backlog);
  m->max_total_ = m->maximum_total_size();
  m->choose_send_path();
  return m;
}

DpdkMiniport::DpdkMiniport(Port& port, const MiniportConfig& config) noexcept
    : port_(&port), config_(config), slots_(std::make_unique<MbufSlots>()) {}

DpdkMiniport::~DpdkMiniport() {
  // Destroyed before its adapter: halt the adapter first, so every packet completes and the
  // adapter never calls this object again. Then MbufSlots orphans what a consumer still holds.
  if (adapter_ != nullptr) {
    const uint64_t in_flight = remove_miniport(*adapter_);  // calls halt_entry, which forgets it
    RTE_LOG(WARNING, USER1,
            "pkio: the DPDK miniport on port %u queue %u was destroyed before its adapter: the adapter is "
            "halted and its %llu packet(s) in flight completed\n",
            port_ != nullptr ? port_->id() : 0u, config_.queue_id, static_cast<unsigned long long>(in_flight));
  }
  if (port_ != nullptr) std::erase(port_->miniports_, this);
}

void DpdkMiniport::port_closing(bool eal_ending) noexcept {
  if (adapter_ != nullptr) {
    const uint64_t in_flight = remove_miniport(*adapter_);
    RTE_LOG(WARNING, USER1,
            "pkio: port %u (%s) closed while the miniport on its queue %u still had an adapter: the adapter is "
            "halted and its %llu packet(s) in flight completed\n",
            port_->id(), port_->name().c_str(), config_.queue_id, static_cast<unsigned long long>(in_flight));
  }
  port_ = nullptr;  // nothing calls into the port from here on: the adapter is halted
  if (eal_ending) slots_->abandon();
}

MiniportCharacteristics DpdkMiniport::characteristics() noexcept {
  MiniportCharacteristics c;
  c.initialize = &DpdkMiniport::initialize_entry;
  c.send_packets = config_.deserialized ? &DpdkMiniport::send_deserialized_entry : &DpdkMiniport::send_serialized_entry;
  c.checks_packets = true;  // below: length, segments and 802.1Q bits, before tx_burst
  c.query_information = &DpdkMiniport::query_entry;
  c.reset = &DpdkMiniport::reset_entry;
  c.halt = &DpdkMiniport::halt_entry;
  c.poll = &DpdkMiniport::poll_entry;
  // Serialized by default: the worker is the queue's only user, partial bursts are resources.
  c.deserialized = config_.deserialized;
  return c;
}

Status DpdkMiniport::initialize_entry(void* context, Adapter& adapter) noexcept {
  auto& self = *static_cast<DpdkMiniport*>(context);
  if (self.adapter_ != nullptr || self.port_ == nullptr) return Status::failure;  // one adapter each
  self.adapter_ = &adapter;
  self.check_link(true);
  return Status::success;
}

MiniportStats DpdkMiniport::stats() const noexcept { return stats_; }

Result<std::vector<FrameMemory>> DpdkMiniport::allocate_frames(uint32_t count, uint32_t largest) {
  auto made = slots_->create_frames(count, largest);
  choose_send_path();
  return made;
}

void DpdkMiniport::choose_send_path() noexcept {
  frames_first_ = config_.completion == CompletionMode::on_free && slots_->capacity() > 0 && slots_->frames() > 0 &&
                  !config_.priority_8021p;
}

uint32_t DpdkMiniport::frames_spare() const noexcept { return slots_->frames_spare(); }

uint32_t DpdkMiniport::zero_copy_slots() const noexcept { return slots_->capacity(); }

uint32_t DpdkMiniport::zero_copy_slots_spare() const noexcept { return slots_->spare(); }

ReleaseDetection DpdkMiniport::release_detection() const noexcept {
  return slots_->signal() == ReleaseSignal::pool_return ? ReleaseDetection::mempool_driver
                                                        : ReleaseDetection::reference_count;
}

uint32_t DpdkMiniport::maximum_total_size() const noexcept {
  // R26: MTU + 14, 4 less when the adapter inserts 802.1Q tags, so a tagged frame still fits.
  return port_->mtu() + 14u - (config_.priority_8021p ? vlan_tag : 0u);
}

// ---------------------------------------------------------------------------------------------
// Poll, reset, halt

void DpdkMiniport::poll_entry(void* context) noexcept { static_cast<DpdkMiniport*>(context)->poll(); }

void DpdkMiniport::poll() noexcept {
  // A worker thread the adapter started is not an EAL lcore: without an lcore id it would get
  // no mempool cache and every mbuf would go through the pool's shared ring. Register it once.
  // initial-exec: a plain thread-pointer access, not a __tls_get_addr call on every poll.
  static thread_local bool registered __attribute__((tls_model("initial-exec"))) = false;
  if (!registered) {
    registered = true;
    if (rte_lcore_id() == LCORE_ID_ANY) (void)rte_thread_register();
  }
  if (cleanup_supported_ && rte_eth_tx_done_cleanup(port_->id(), config_.queue_id, 0) < 0)
    cleanup_supported_ = false;  // -ENOTSUP: this PMD frees in tx_burst or when its ring wraps
  if (slots_->held() > 0) reap_slots(completion_status_.load(std::memory_order_relaxed));
  if (backlog_count_ > 0) flush_backlog();
  if (retry_pending_) {
    // A full ring or an empty pool: let the dispatcher try again on the next step. Bounded:
    // one attempt per poll, and the adapter's send timeout ends a queue that never drains.
    retry_pending_ = false;
    if (adapter_ != nullptr) send_resources_available(*adapter_);
  }
  if (link_poll_cycles_ != 0 && rte_get_timer_cycles() >= next_link_check_) check_link(false);
}

void DpdkMiniport::reap_slots(Status status) noexcept {
  // A packet refused for want of a slot is retried through retry_pending_, set at refusal.
  Adapter* adapter = adapter_;
  uint32_t completed = 0;
  (void)slots_->reap([adapter, status, &completed](Packet* p) {
    ++completed;
    if (adapter != nullptr) send_complete(*adapter, p, status);
  });
  if (status != Status::success) stats_.completed_by_reset += completed;
}

void DpdkMiniport::await_holders(Status status) noexcept {
  // A copy given to a holder cannot stop a read it has under way (it loaded the address
  // before the copy): such a reader would see the protocol's next contents once the packet
  // completes. So a holder that keeps freeing, and so may be reading, is waited for; one that
  // frees nothing for holder_wait_ms is stalled, not reading, and gets copies.
  const uint64_t hz = rte_get_timer_hz();
  const uint64_t patience = hz * config_.holder_wait_ms / 1000;
  uint64_t now = rte_get_timer_cycles();
  const uint64_t give_up = now + hz;
  uint64_t last_free = now;
  while (slots_->held_for_packets() > 0) {
    const uint32_t before = slots_->held();
    reap_slots(status);
    now = rte_get_timer_cycles();
    if (slots_->held() < before) last_free = now;
    else if (now - last_free >= patience || now >= give_up) return;
    rte_delay_us_sleep(20);
  }
}

void DpdkMiniport::check_link(bool force) noexcept {
  next_link_check_ = rte_get_timer_cycles() + link_poll_cycles_;
  const int up = port_->link_up() ? 1 : 0;
  if (!force && up == link_up_) return;
  link_up_ = up;
  if (adapter_ != nullptr)
    indicate_status(*adapter_, up ? Indication::media_connect : Indication::media_disconnect);
}

Status DpdkMiniport::reset_entry(void* context) noexcept {
  auto& self = *static_cast<DpdkMiniport*>(context);
  // Packets whose mbufs the PMD frees while the port stops complete with reset_in_progress.
  self.completion_status_.store(Status::reset_in_progress, std::memory_order_relaxed);
  Status s = self.port_->stop();
  if (s == Status::success) s = self.port_->start();
  // Slots the PMD freed complete now, and those a consumer frees while it keeps freeing; a
  // consumer that stalls holding one gets a copy of its frame, so the adapter can complete
  // the packet (reset_in_progress) and the protocol reuse it.
  self.await_holders(Status::reset_in_progress);
  self.stats_.completed_by_reset += self.slots_->orphan_held();  // the adapter completes them
  self.completion_status_.store(Status::success, std::memory_order_relaxed);
  self.retry_pending_ = false;
  // Held-back packets are still pending in the adapter, which completes them after the reset.
  self.backlog_count_ = 0;
  self.check_link(true);
  return s;
}

void DpdkMiniport::halt_entry(void* context) noexcept {
  auto& self = *static_cast<DpdkMiniport*>(context);
  self.completion_status_.store(Status::request_aborted, std::memory_order_relaxed);
  if (self.cleanup_supported_) rte_eth_tx_done_cleanup(self.port_->id(), self.config_.queue_id, 0);
  self.await_holders(Status::request_aborted);
  self.stats_.completed_by_reset += self.slots_->orphan_held();  // the adapter completes them
  self.backlog_count_ = 0;  // the adapter completes them (request_aborted) after halt
  self.adapter_ = nullptr;
}

// ---------------------------------------------------------------------------------------------
// Requests (R24, R26)

Status DpdkMiniport::query_entry(void* context, Oid oid, void* buffer, uint32_t length,
                                 uint32_t* written, uint32_t* needed) noexcept {
  auto& self = *static_cast<DpdkMiniport*>(context);
  uint32_t value = 0;
  switch (oid) {
    case Oid::maximum_send_packets:
      value = self.config_.maximum_send_packets;
      break;
    case Oid::maximum_frame_size:
    case Oid::maximum_lookahead:
      value = self.port_->mtu();
      break;
    case Oid::maximum_total_size:
      value = self.maximum_total_size();
      break;
    case Oid::transmit_block_size:
      value = RTE_MBUF_DEFAULT_DATAROOM;
      break;
    case Oid::transmit_buffer_space:
      value = static_cast<uint32_t>(self.port_->tx_descriptors()) * (self.port_->mtu() + 14u);
      break;
    case Oid::link_speed:
    case Oid::media_connect_status: {
      rte_eth_link link{};
      if (rte_eth_link_get_nowait(self.port_->id(), &link) != 0) return Status::failure;
      if (oid == Oid::link_speed) {
        // link_speed is in Mbit/s; NDIS counts in units of 100 bit/s.
        const uint64_t units = static_cast<uint64_t>(link.link_speed) * 10000u;
        value = units > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(units);
      } else {
        value = static_cast<uint32_t>(self.port_->link_up() ? MediaState::connected : MediaState::disconnected);
      }
      break;
    }
    case Oid::mac_options: {
      // No virtual device or NIC here loops frames back to the sender (R26).
      value = mac_option::no_loopback;
      rte_eth_link link{};
      if (rte_eth_link_get_nowait(self.port_->id(), &link) == 0 &&
          link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX)
        value |= mac_option::full_duplex;
      if (self.config_.priority_8021p) value |= mac_option::priority_8021p;
      break;
    }
    default:
      *written = 0;
      *needed = 0;
      return Status::not_supported;
  }
  return answer_query(&value, sizeof value, buffer, length, written, needed);
}

}  // namespace pkio::dpdk
