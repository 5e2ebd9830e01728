/// @file
/// PacketPool: a fixed set of packet descriptors created up front.
///
/// Threading: allocate() and free() may be called from any number of threads at once. The
/// free list is an MpmcRing of indices (lock-free, no allocation), and each packet's state is
/// swapped atomically, so a double free or a free of a packet in flight is detected and
/// refused rather than corrupting the list. Only create() allocates memory (once).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <pkio/packet.h>
#include <pkio/detail/mpmc_ring.h>
#include <pkio/result.h>

namespace pkio {

/// NDIS 5.1: a packet pool (NdisAllocatePacketPool / NdisFreePacketPool).
class PacketPool {
 public:
  /// Most packets one pool holds.
  static constexpr uint32_t max_count = 1u << 24;
  /// Largest ProtocolReserved area.
  static constexpr uint32_t max_protocol_reserved = 64 * 1024;

  /// NDIS 5.1: NdisAllocatePacketPool. A pool of `count` packets, each with
  /// `protocol_reserved_size` bytes of ProtocolReserved. invalid_data for a count of 0 or
  /// above max_count, or a reserved area above max_protocol_reserved.
  [[nodiscard]] static Result<std::unique_ptr<PacketPool>> create(uint32_t count,
                                                                  uint32_t protocol_reserved_size);
  ~PacketPool();
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  /// NDIS 5.1: NdisAllocatePacket. success with a fresh packet (R32: empty chain, valid
  /// counts, zeroed OOB data and info), or resources at once if the pool is empty (R31).
  [[nodiscard]] Status allocate(Packet*& out) noexcept;
  /// NDIS 5.1: NdisFreePacket. success; failure (and nothing changes) for a packet of another
  /// pool, a packet already free (double free) or one still owned by the framework.
  Status free(Packet* packet) noexcept;

  /// Packets in the pool when all are free.
  [[nodiscard]] uint32_t capacity() const noexcept { return count_; }
  /// Packets in the pool now (exact when no thread is allocating or freeing).
  [[nodiscard]] uint32_t available() const noexcept {
    return static_cast<uint32_t>(free_list_.size_approx());
  }
  /// Frees refused so far (double, foreign or in-flight packets).
  [[nodiscard]] uint64_t bad_frees() const noexcept {
    return bad_frees_.load(std::memory_order_relaxed);
  }
  /// True if `packet` points at one of this pool's descriptors.
  [[nodiscard]] bool owns(const Packet* packet) const noexcept;

 private:
  PacketPool(uint32_t count, uint32_t protocol_reserved_size);
  Packet* at(uint32_t index) const noexcept {
    return reinterpret_cast<Packet*>(storage_ + static_cast<std::size_t>(index) * stride_);
  }

  uint32_t count_;
  std::size_t stride_;
  std::byte* storage_ = nullptr;
  MpmcRing<uint32_t> free_list_;
  std::atomic<uint64_t> bad_frees_{0};
};

}  // namespace pkio
