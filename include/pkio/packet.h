/// @file
/// Packet: the packet descriptor of the NDIS 5.1 send path, its buffer chain, out-of-band
/// data, per-packet info and reserved areas.
///
/// Threading: a packet belongs to one owner at a time (the protocol, or the framework from
/// submission to completion, contract R4); its functions are not synchronized. Only the
/// fields in PacketTracking are touched by several threads, and they are atomic.
///
/// Chain functions follow the NDIS macros (contract R33): they may chain a whole chain in one
/// call, unchaining an empty packet yields null, and any change invalidates the cached counts,
/// which query() recomputes. Every walk along a chain is bounded: a cycle is reported as
/// Status::invalid_packet, never a hang. A buffer that maps no memory (Buffer::maps_memory)
/// makes the chain invalid the same way, so such a packet never reaches a device.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include <pkio/buffer.h>
#include <pkio/status.h>

namespace pkio {

class PacketPool;
class Packet;

/// Per-packet flags (NDIS 5.1: NdisSetPacketFlags). They reach the miniport unchanged (R39).
/// The bit values are pkio's; the names are NDIS's.
namespace packet_flag {
inline constexpr uint32_t dont_loopback = 0x1;   ///< NDIS_FLAGS_DONT_LOOPBACK
inline constexpr uint32_t loopback_only = 0x2;   ///< NDIS_FLAGS_LOOPBACK_ONLY
inline constexpr uint32_t multicast = 0x4;       ///< NDIS_FLAGS_MULTICAST_PACKET
}  // namespace packet_flag

/// NDIS 5.1: NDIS_PACKET_OOB_DATA, read with NDIS_OOB_DATA_FROM_PACKET.
struct PacketOob {
  int64_t time_to_send = 0;            ///< TimeToSend (NDIS_SET_PACKET_TIME_TO_SEND), ns
  int64_t time_sent = 0;               ///< TimeSent, set by the miniport, ns
  uint32_t header_size = 0;            ///< HeaderSize (NDIS_SET_PACKET_HEADER_SIZE)
  uint32_t size_media_specific_info = 0;  ///< SizeMediaSpecificInfo
  void* media_specific_info = nullptr;    ///< MediaSpecificInformation (protocol memory)
  Status status = Status::success;     ///< Status: volatile until completion (R4)
};

/// NDIS 5.1: NDIS_PACKET_8021Q_INFO (Ieee8021QInfo per-packet info).
/// Bits 0-2 user priority, bit 3 CFI (must be zero), bits 4-15 VLAN id, 16-31 reserved (zero).
struct Ieee8021qInfo {
  uint32_t value = 0;  ///< the raw per-packet info word

  /// The info for 802.1p `priority` (0-7) and VLAN `vlan_id` (0-4095).
  [[nodiscard]] static constexpr Ieee8021qInfo make(uint32_t priority, uint32_t vlan_id) noexcept {
    return Ieee8021qInfo{(priority & 0x7u) | ((vlan_id & 0xFFFu) << 4)};
  }
  /// 802.1p user priority.
  [[nodiscard]] constexpr uint32_t priority() const noexcept { return value & 0x7u; }
  /// VLAN id.
  [[nodiscard]] constexpr uint32_t vlan_id() const noexcept { return (value >> 4) & 0xFFFu; }
  /// False if a reserved bit (3 or 16-31) is set: such a packet is invalid_packet.
  [[nodiscard]] constexpr bool is_valid() const noexcept { return (value & 0xFFFF0008u) == 0; }
  /// True if a tag is asked for (a priority or a VLAN id is set).
  [[nodiscard]] constexpr bool wants_tag() const noexcept { return (value & 0xFFF7u) != 0; }
};

/// Where a packet is in its life; kept by the framework in PacketTracking::state.
enum class PacketState : uint32_t {
  free = 0,           ///< in its pool
  protocol = 1,       ///< allocated, owned by the protocol
  queued = 2,         ///< accepted by the dispatcher, waiting in a queue
  in_miniport = 3,    ///< inside a miniport send_packets call
  pending = 4,        ///< the miniport returned pending; a send_complete must follow
  completing = 5,     ///< being handed back to the protocol
};

/// The counts NdisQueryPacket returns.
struct PacketCounts {
  uint32_t buffer_count = 0;     ///< PhysicalBufferCount/BufferCount
  uint32_t total_length = 0;     ///< TotalPacketLength, bytes
  Buffer* first_buffer = nullptr;  ///< FirstBuffer
};

/// The framework's own bookkeeping of a packet, outside both reserved areas.
/// Written by the dispatcher; a protocol or miniport reads none of it.
struct PacketTracking {
  // The first six fields, with PacketOob::status just before them, share one cache line
  // (see Packet): a packet sent from one thread and sent and completed on another costs one
  // line moving each way, not two.
  /// Written by the pool, the submitting thread and the adapter's worker, each while it owns
  /// the packet; atomic so that a packet freed or resubmitted out of turn is seen.
  std::atomic<PacketState> state{PacketState::free};
  Status final_status = Status::success;  ///< the completion status, until it is delivered
  std::atomic<Packet*> next{nullptr};  ///< intrusive link for the dispatcher's queues
  void* binding = nullptr;    ///< the binding that submitted it (R5)
  void* adapter = nullptr;    ///< the adapter it was submitted to (R20: foreign completions)
  uint64_t submit_cycles = 0; ///< cycle counter at submission, for latency
  Status remote_status = Status::success;  ///< status of a send_complete from another thread
  /// Set by a send_complete from a thread other than the worker: a second one is a double
  /// completion and is refused before it can reach the queue (contract R8, R20).
  std::atomic<bool> remote_claim{false};
  Packet* pending_prev = nullptr;      ///< links in the adapter's list of packets in the miniport
  Packet* pending_next = nullptr;      ///< (see pending_prev)
};

/// NDIS 5.1: NDIS_PACKET, allocated from a PacketPool with NdisAllocatePacket.
/// A whole number of cache lines, so that the ProtocolReserved area after it starts on a
/// line of its own (a protocol touching a few bytes of it per send touches one line).
class alignas(64) Packet {
  // Layout, for the cross-thread path: the first cache line holds what query() and the
  // checks read (the chain fields below, flags, 802.1Q info), written only while the
  // protocol builds the packet; oob.status and the hot part of tracking (state to
  // submit_cycles) fall in the second, the only one both the submitting thread and the
  // worker write (checked by the PacketLayout tests).
  Buffer* head_ = nullptr;
  Buffer* tail_ = nullptr;
  uint32_t buffer_count_ = 0;
  uint32_t total_length_ = 0;
  bool valid_counts_ = true;

 public:
  /// Size of the miniport-reserved area: 16 bytes on 64-bit (MiniportReserved), 24 for a
  /// deserialized miniport (MiniportReservedEx).
  static constexpr std::size_t miniport_reserved_size = 24;
  /// The part of it a serialized miniport may use (MiniportReserved).
  static constexpr std::size_t serialized_miniport_reserved_size = 16;
  /// Longest chain any function here walks before it calls the chain corrupt.
  static constexpr uint32_t max_chain_length = 65536;

  Packet() = default;
  Packet(const Packet&) = delete;
  Packet& operator=(const Packet&) = delete;

  /// NDIS 5.1: NdisChainBufferAtFront. Puts `chain` (one buffer or a chain of them) before
  /// the current first buffer. Returns invalid_packet (and changes nothing) if `chain` is
  /// null, has a cycle, is longer than max_chain_length or has a buffer that maps no memory.
  [[nodiscard]] Status chain_at_front(Buffer* chain) noexcept;
  /// NDIS 5.1: NdisChainBufferAtBack. Appends `chain` after the last buffer; as above.
  [[nodiscard]] Status chain_at_back(Buffer* chain) noexcept;
  /// NDIS 5.1: NdisUnchainBufferAtFront. Removes and returns the first buffer; null if empty.
  Buffer* unchain_at_front() noexcept;
  /// NDIS 5.1: NdisUnchainBufferAtBack. Removes and returns the last buffer; null if empty.
  Buffer* unchain_at_back() noexcept;

  /// NDIS 5.1: NdisQueryPacket. Fills `out`, recomputing the cached counts if a change
  /// invalidated them. invalid_packet if the chain has a cycle, is too long or has a buffer
  /// that maps no memory.
  [[nodiscard]] Status query(PacketCounts& out) noexcept {
    if (query_kept(out)) [[likely]] return Status::success;  // counts kept from the last query
    return recount(out);
  }
  /// query()'s hot path alone: true and the kept counts while they are valid, else false
  /// (query() then recomputes them). It never calls out, so a caller's `out` can stay in
  /// registers: a loop over a burst reads three fields, not a struct written to the stack.
  [[nodiscard]] bool query_kept(PacketCounts& out) const noexcept {
    out.buffer_count = buffer_count_;
    out.total_length = total_length_;
    out.first_buffer = head_;
    return valid_counts_;
  }
  /// Total length in bytes (recomputed if needed); 0 for an empty or corrupt chain.
  [[nodiscard]] uint32_t total_length() noexcept;
  /// First buffer of the chain, or null (NdisGetFirstBufferFromPacket).
  [[nodiscard]] Buffer* first_buffer() const noexcept { return head_; }
  /// True if every buffer of the chain maps memory (Buffer::maps_memory), walking at most
  /// max_chain_length buffers. query() checks this when it counts; a sender checks it again
  /// because a Buffer's fields can be changed behind the chain functions' back.
  [[nodiscard]] bool buffers_map_memory() const noexcept;
  /// True while the cached counts are valid (NDIS: Private.ValidCounts).
  [[nodiscard]] bool valid_counts() const noexcept { return valid_counts_; }

  /// NDIS 5.1: NdisReinitializePacket. Resets only the chain head and the valid-counts flag
  /// (contract R34). It returns the chain it detached, so the buffers cannot be lost by
  /// mistake: unchain or keep them, then reinitialize (seeds/001, ProtocolSendComplete).
  [[nodiscard]] Buffer* reinitialize() noexcept;

  /// Per-packet flags (NdisGetPacketFlags / NdisSetPacketFlags), see packet_flag.
  uint32_t flags = 0;
  /// 802.1Q per-packet info (NDIS_PER_PACKET_INFO_FROM_PACKET(p, Ieee8021QInfo)).
  Ieee8021qInfo ieee8021q{};
  /// Out-of-band data (NDIS_OOB_DATA_FROM_PACKET).
  PacketOob oob{};
  /// The framework's bookkeeping (see PacketTracking). Not for protocols or miniports.
  PacketTracking tracking;

  /// NDIS 5.1: MiniportReserved / MiniportReservedEx. The miniport's while it owns the packet.
  [[nodiscard]] std::span<std::byte, miniport_reserved_size> miniport_reserved() noexcept {
    return std::span<std::byte, miniport_reserved_size>(miniport_reserved_);
  }
  /// NDIS 5.1: ProtocolReserved; its size is chosen by the pool's creator (may be 0). It
  /// follows the packet in the pool's memory, so its address costs no load (a protocol that
  /// reaches it per packet does not wait for one).
  [[nodiscard]] std::span<std::byte> protocol_reserved() noexcept {
    return {reinterpret_cast<std::byte*>(this + 1), protocol_reserved_size_};
  }
  /// The pool this packet returns to (NDIS: Private.Pool); null for a packet not from a pool.
  [[nodiscard]] PacketPool* pool() const noexcept { return pool_; }

 private:
  friend class PacketPool;
  /// Walks `chain`, returning its last buffer and counts; null on a cycle, an overlong chain
  /// or a buffer that maps no memory.
  static Buffer* walk(Buffer* chain, uint32_t& count, uint64_t& length) noexcept;
  Status recount(PacketCounts& out) noexcept;
  void reset_fresh() noexcept;

  uint32_t protocol_reserved_size_ = 0;
  uint32_t pool_index_ = 0;
  PacketPool* pool_ = nullptr;
  alignas(8) std::byte miniport_reserved_[miniport_reserved_size]{};
};

}  // namespace pkio
