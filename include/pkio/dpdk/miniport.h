/// @file
/// DpdkMiniport: a poll-mode miniport over one TX queue of a DPDK port, behind the
/// MiniportSendPackets interface. Serialized: the adapter's worker is the queue's only user.
///
/// Sending: each packet's buffers are attached to mbufs as external buffers (zero-copy, no
/// payload copy); a chain of buffers becomes a chain of mbufs, at most the PMD's nb_seg_max;
/// a frame under 60 bytes gets a zeroed pad segment (R38); an 802.1Q tag is applied by the
/// PMD's offload or by a small header segment (R37) when the adapter advertises
/// 8021p_priority. Every packet is checked before it reaches the PMD (too long, too many
/// segments, a buffer over 64 KiB -> invalid_packet), because several PMDs drop bad frames
/// silently and count them as sent. A partial rte_eth_tx_burst (k of n) is `resources` at
/// index k; an empty mbuf pool is `resources` too.
///
/// Completion (CompletionMode):
/// - on_free (default, "true completion"): a packet completes when the PMD frees its last
///   mbuf, so its memory is the protocol's again only when the device no longer reads it.
///   Each segment borrows one of the miniport's persistent mbufs (MbufSlots), lent with a
///   reference count of 2: the PMD's free is one locked decrement back to 1, and the miniport
///   sees the count, with no allocation, mempool put or callback per packet;
///   a packet freed inside tx_burst (net_null, pcap, af_packet, tap) is answered `success`
///   at once, the others are `pending` and complete at a later poll. A protocol that builds
///   frames once and resends them can build them in the miniport's own mbufs
///   (allocate_frames): those go as their own mbufs, the cheapest send and free there is.
///   A reset or halt gives frames a consumer still holds a copy, so their packets complete
///   safely.
///   A buffer larger than a slot's room (jumbo frames, PortConfig::mtu) is sent in pieces,
///   one slot each, still zero-copy, so every frame a consumer holds at a reset fits the
///   slots' own rooms and is copied there.
/// - on_accept ("intelligent NIC", seeds/001): the frame is copied into mbufs and the packet
///   completes when tx_burst accepts it.
/// Reaping: every poll calls rte_eth_tx_done_cleanup where the PMD has it; net_null, pcap,
/// af_packet and tap free inline in tx_burst; net_ring's consumer frees when it dequeues.
/// Where a PMD holds mbufs until its ring wraps, completion waits at most tx_descriptors
/// further packets, and the adapter's send timeout (R23) bounds the rest.
///
/// Memory: for a real NIC, buffer memory must be DMA-able: DPDK memory (rte_malloc, a
/// mempool) or memory registered with rte_extmem_register, with Buffer::iova set (or 0 in
/// IOVA-as-VA mode, where the virtual address is used). The virtual devices need nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <pkio/dpdk/port.h>
#include <pkio/miniport.h>
#include <pkio/result.h>

struct rte_mbuf;

namespace pkio::dpdk {

class MbufSlots;

/// One frame of DpdkMiniport::allocate_frames: where the protocol builds it.
struct FrameMemory {
  uint8_t* address;  ///< the frame's first byte (Buffer::address)
  uint64_t iova;     ///< its IO address (Buffer::iova)
};

/// When a packet sent through the DPDK miniport completes.
enum class CompletionMode {
  on_free,    ///< complete when the PMD frees the mbufs (zero-copy)
  on_accept,  ///< copy into mbufs, complete when tx_burst accepts
};

/// How a zero-copy completion (CompletionMode::on_free) is seen: how the miniport learns that
/// the PMD freed an mbuf it lent. Either way the packet completes exactly once, on the free.
enum class ReleaseDetection {
  automatic,        ///< mempool_driver on Intel CPUs, reference_count on others (each was the faster there)
  reference_count,  ///< the PMD's free drops the mbuf's count from 2 to 1: a locked decrement each
  mempool_driver,   ///< the free reaches a mempool driver of pkio's that marks the mbuf: no locked operation
};

/// How a DpdkMiniport sends.
struct MiniportConfig {
  /// The TX queue this miniport owns (one owner per queue).
  uint16_t queue_id = 0;
  /// OID_GEN_MAXIMUM_SEND_PACKETS: the batch size; capped at the TX ring size.
  uint32_t maximum_send_packets = 32;
  /// True completion on the mbuf free (zero-copy), or completion on acceptance (copy).
  CompletionMode completion = CompletionMode::on_free;
  /// Advertise NDIS_MAC_OPTION_8021P_PRIORITY and apply per-packet 802.1Q info (R37).
  bool priority_8021p = false;
  /// How often the link state is read when the PMD gives no interrupt (R29: within 2 s).
  uint32_t link_poll_ms = 100;
  /// NDIS_ATTRIBUTE_DESERIALIZE: accept every packet and queue what the PMD refuses in the
  /// miniport itself (retried on every poll), completing everything through send_complete
  /// (R18). The queue holds `backlog` packets; beyond that a packet completes with failure.
  bool deserialized = false;
  uint32_t backlog = 65536;  ///< deserialized: packets the miniport can hold back
  /// on_free: persistent zero-copy mbufs (MbufSlots), in a pool of the miniport's own with
  /// the port pool's data room; 0 = twice the TX ring. When all are in flight, a packet is `resources` until one is freed.
  uint32_t zero_copy_slots = 0;
  /// on_free: how the PMD's free of a lent mbuf is seen (release_detection() tells which).
  ReleaseDetection release_detection = ReleaseDetection::automatic;
  /// on_free, at a reset or halt (NdisReset, MiniportHalt): how long the miniport waits for
  /// a consumer that still holds frames (a net_ring reader) to free another before it gives
  /// the rest copies and completes their packets. A consumer that keeps freeing is waited
  /// for (up to a second in all): it may be reading a frame now, and a copy cannot stop a
  /// read under way from seeing the protocol's next contents. 0: copy at once; at most 1000.
  uint32_t holder_wait_ms = 20;
};

/// Counters kept by the miniport itself (what reached and left the PMD).
struct MiniportStats {
  uint64_t tx_burst_calls = 0;  ///< rte_eth_tx_burst calls
  uint64_t accepted = 0;       ///< packets tx_burst took
  uint64_t refused = 0;        ///< packets tx_burst left (partial acceptance)
  uint64_t invalid = 0;        ///< packets refused before the PMD
  uint64_t mbuf_exhausted = 0; ///< times the mbuf pool ran dry
  uint64_t slots_busy = 0;     ///< times every zero-copy slot was in flight
  uint64_t backlog_overflow = 0; ///< deserialized: packets failed because the backlog was full
  /// Packets tx_burst took that completed with the reset or halt status instead of success
  /// (their frames were handed to the device). accepted = these + those completed with
  /// success.
  uint64_t completed_by_reset = 0;
};

/// NDIS 5.1: a NIC driver's MiniportSendPackets, over one DPDK TX queue; see the file comment.
class DpdkMiniport {
 public:
  /// A miniport on `port`. Fails with a one-line reason for a queue the port does not have,
  /// or slots that cannot be made.
  /// Lifetimes: create an Adapter over characteristics() (it wires itself to this miniport,
  /// once); tear down adapter, miniport, port in that order. Out of order nothing breaks:
  /// a miniport destroyed before its adapter, or a port before its miniports, halts the
  /// adapter first (every packet in flight completes, a warning is logged) and the adapter
  /// never reaches the miniport or the port again.
  [[nodiscard]] static Result<std::unique_ptr<DpdkMiniport>> create(Port& port, const MiniportConfig& config = {});
  ~DpdkMiniport();
  DpdkMiniport(const DpdkMiniport&) = delete;
  DpdkMiniport& operator=(const DpdkMiniport&) = delete;

  /// The MiniportCharacteristics to create an Adapter with (context: this object). One
  /// adapter per miniport: a second Adapter::create over it fails.
  [[nodiscard]] MiniportCharacteristics characteristics() noexcept;

  /// NDIS 5.1: shared memory a miniport allocates for its sends (NdisMAllocateSharedMemory),
  /// here lent to the protocol: `count` frames of up to `largest` bytes (at most 16384) in the
  /// miniport's own mbufs, for a protocol that builds its frames once and resends them (a
  /// generator). A single-buffer packet whose buffer starts at one of these frames is sent as
  /// that mbuf itself: no slot is pointed at it, and the PMD's free is DPDK's cheapest (about
  /// a sixth of pkio-gen's time on net_null, against a slot). Any other buffer, or a frame
  /// still held by a consumer, takes a slot as usual. Once per miniport, in on_free mode,
  /// before the first send or on the worker thread (it is not synchronized with a worker);
  /// the frames come in address order; the memory lives as long as the miniport. Fails with a
  /// one-line reason if they cannot be made (the protocol can use memory of its own).
  [[nodiscard]] Result<std::vector<FrameMemory>> allocate_frames(uint32_t count, uint32_t largest);
  /// Of the frames of allocate_frames, those no PMD or consumer holds: all of them at rest.
  [[nodiscard]] uint32_t frames_spare() const noexcept;

  /// Persistent zero-copy mbufs this miniport made (MbufSlots, in a pool of their own).
  [[nodiscard]] uint32_t zero_copy_slots() const noexcept;
  /// Of those, the ones ready to lend: all of them at rest, once every frame is freed and a
  /// poll has reaped it (none lost). On the worker thread, or at rest.
  [[nodiscard]] uint32_t zero_copy_slots_spare() const noexcept;
  /// How this miniport sees the PMD's frees (config's release_detection, `automatic`
  /// resolved; reference_count if the mempool driver could not be registered).
  [[nodiscard]] ReleaseDetection release_detection() const noexcept;
  /// Readies the calling thread's first send without sending anything: touches the stack a
  /// send uses (64 KiB below the caller; a fresh thread's stack pages fault on first touch),
  /// reads the zero-copy slots a first burst takes, and calls the PMD's transmit function with
  /// an empty burst, so that the first real send pays a warm call's cost, not a cold one,
  /// inside its latency. For a sender about to start its clock, on the thread that will send
  /// (the worker's, or at rest).
  void warm_up() noexcept;
  /// Reads every cache line the first send will touch for `first` (the packets about to be
  /// sent), changing nothing: each packet, its first buffer and the start of its data, and
  /// the frame mbuf that carries it. A generator's packets were built long before its first
  /// send and are cold by then; without this its first call takes a miss per line inside the
  /// run's clock. After warm_up, just before that send, on the thread that will send.
  void warm_packets(Packet* const* first, uint32_t n) const noexcept;
  /// What reached and left the PMD (read on the worker thread, or at rest).
  [[nodiscard]] MiniportStats stats() const noexcept;
  /// The port this miniport sends on; null once that port was destroyed.
  [[nodiscard]] Port* port() noexcept { return port_; }
  /// The configuration in force (maximum_send_packets capped at the TX ring size).
  [[nodiscard]] const MiniportConfig& config() const noexcept { return config_; }

 private:
  DpdkMiniport(Port& port, const MiniportConfig& config) noexcept;

  friend class Port;
  /// The port is being destroyed: halts the adapter and forgets the port; `eal_ending`: also
  /// forgets the slot pools, which die with the EAL (nothing touches them again).
  void port_closing(bool eal_ending) noexcept;
  static Status initialize_entry(void* context, Adapter& adapter) noexcept;
  static void send_serialized_entry(void* context, Packet* const* packets, uint32_t n) noexcept;
  static void send_deserialized_entry(void* context, Packet* const* packets, uint32_t n) noexcept;
  static Status query_entry(void* context, Oid oid, void* buffer, uint32_t length,
                            uint32_t* written, uint32_t* needed) noexcept;
  static Status reset_entry(void* context) noexcept;
  static void halt_entry(void* context) noexcept;
  static void poll_entry(void* context) noexcept;

  // The send path (miniport_send.cpp): send_packets in named steps.
  enum class Sent : uint8_t;
  enum class ChainOutcome { ready, invalid, no_mbufs };
  struct Burst;
  struct Prepared;
  void send_packets(Packet* const* packets, uint32_t n, rte_mbuf* const* lent_mbufs, uint32_t lent) noexcept;
  Prepared prepare(Packet* const* packets, uint32_t n, Burst& burst, uint32_t lent) noexcept;
  /// Both return how many leading packets succeeded (the rest: pending, resources, failed).
  /// `completes_itself`: the deserialized mode, which completes the leading successes itself.
  template <bool completes_itself>
  uint32_t send_serialized(Packet* const* packets, uint32_t n) noexcept;
  template <bool completes_itself>
  uint32_t send_lent_frames(Packet* const* packets, uint32_t n, rte_mbuf** mbufs) noexcept;
  /// Sets frames_first_ from the configuration (after create and allocate_frames).
  void choose_send_path() noexcept;
  ChainOutcome prepare_chain(Packet* packet, uint32_t max_total, rte_mbuf*& head, Sent& sent) noexcept;
  rte_mbuf* copy_into_mbufs(Packet* packet, const PacketCounts& counts, bool soft_tag, uint32_t pad) noexcept;
  uint32_t hand_to_pmd(Burst& burst, uint32_t mbufs) noexcept;
  void classify(Packet* const* packets, const Burst& burst, const Prepared& prepared, uint32_t taken) noexcept;
  void give_back(Packet* const* packets, uint32_t n, const Burst& burst, const Prepared& prepared,
                 uint32_t taken) noexcept;
  void send_deserialized(Packet* const* packets, uint32_t n) noexcept;
  void flush_backlog() noexcept;
  /// mbufs a packet needs in zero-copy mode; 0 if it is invalid for this port.
  uint8_t plan_segments(Packet* packet, uint32_t max_total, uint32_t max_segments) const noexcept;
  rte_mbuf* build_slot_chain(Packet* packet, const PacketCounts& counts, rte_mbuf** mbufs,
                             bool soft_tag, uint32_t pad) noexcept;
  /// Points slot `m` at its own room holding buffer `b`'s frame with an 802.1Q tag of `tci`
  /// inserted (the frame and the tag fit the room).
  void copy_tagged(rte_mbuf* m, const Buffer* b, uint16_t tci) noexcept;
  uint64_t iova_of(const Buffer* b) const noexcept;
  void poll() noexcept;
  void reap_slots(Status status) noexcept;
  void await_holders(Status status) noexcept;
  void check_link(bool force) noexcept;
  [[nodiscard]] uint32_t maximum_total_size() const noexcept;

  Port* port_;  // null once the port is gone (port_closing)
  MiniportConfig config_;
  Adapter* adapter_ = nullptr;
  bool iova_is_va_ = true;
  bool frames_first_ = false;  // lend the leading frames first: on_free, frames made, no 802.1Q
  uint32_t max_total_ = 0;     // maximum_total_size(), fixed once the port is up
  bool cleanup_supported_ = true;
  bool retry_pending_ = false;  // `resources` was answered: signal availability next poll
  int link_up_ = -1;            // last indicated link state (-1: not read yet)
  uint64_t link_poll_cycles_ = 0;
  uint64_t next_link_check_ = 0;
  /// Status the free callback completes with: success, or reset/halt statuses while the
  /// port is being stopped. Atomic: the callback may run on a ring consumer's thread.
  std::atomic<Status> completion_status_{Status::success};
  MiniportStats stats_{};
  std::unique_ptr<MbufSlots> slots_;  // on_free: persistent mbufs for single-buffer frames
  std::unique_ptr<Packet*[]> backlog_;  // deserialized: refused packets, oldest first (ring)
  uint32_t backlog_head_ = 0;
  uint32_t backlog_count_ = 0;
};

}  // namespace pkio::dpdk
