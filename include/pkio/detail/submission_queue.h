/// @file
/// SubmissionQueue: packets sent from any thread on their way to the adapter's worker (NDIS:
/// the queue NDIS keeps in front of a serialized miniport's MiniportSendPackets).
///
/// A DPDK ring of packet pointers (many producers, one consumer) carries them: the worker
/// takes a burst of pointers at once and reads the packets independently, instead of walking
/// a linked list whose every link is a cache miss on the producer's core, one after another
/// (with the worker's single pass over its arrays, pkio-bench's cross-thread/raw at burst 32
/// went from a median of 0.68 to 0.80 in six pairs of runs).
/// A ring is bounded and send_packets never waits, so what does not fit goes to an unbounded
/// intrusive overflow queue (PacketMpscQueue).
///
/// Order (contract R6): each producer thread's packets leave in the order it sent them.
/// - A producer uses the ring only while the overflow holds nothing (overflow_count_ == 0):
///   a thread with a packet in the overflow sends everything after it to the overflow too.
///   The count is raised before the push and lowered only after the consumer staged the
///   packet, so a thread cannot see zero while its own packet still waits there.
/// - So the ring never holds a packet later than one of the same thread in the overflow, and
///   the consumer may take ring packets at any time. It takes an overflow packet only after
///   moving the whole ring into its staging FIFO: everything its thread put in the ring before
///   it is visible then (the overflow pop acquires what the ring enqueue released before it).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <pkio/detail/packet_queue.h>
#include <pkio/packet.h>

struct rte_ring;

namespace pkio {

/// Many-producer, single-consumer FIFO of packets in front of an adapter's worker.
class SubmissionQueue {
 public:
  /// Slots in the ring (a power of two; one stays unused). More in flight at once overflow.
  static constexpr uint32_t ring_slots = 8192;

  /// Allocates the ring (control path). Needs no EAL: the ring lives in ordinary memory.
  /// Check ready() afterwards.
  SubmissionQueue();
  ~SubmissionQueue();
  SubmissionQueue(const SubmissionQueue&) = delete;
  SubmissionQueue& operator=(const SubmissionQueue&) = delete;

  /// False if the ring could not be allocated (then the queue must not be used).
  [[nodiscard]] bool ready() const noexcept { return ring_ != nullptr; }

  /// Appends packets[0..n) in order. Any thread; never fails, never waits.
  void push(Packet* const* packets, uint32_t n) noexcept;

  /// Takes up to `max` of the oldest packets into `out`; returns how many. Consumer only.
  uint32_t pop_burst(Packet** out, uint32_t max) noexcept {
    if (overflow_count_.load(std::memory_order_acquire) != 0 || !staged_.empty()) [[unlikely]]
      return pop_staged(out, max);
    return pop_ring(out, max);
  }

  /// Packets pushed to the overflow and not yet staged by the consumer (for tests).
  [[nodiscard]] uint64_t overflow_count() const noexcept {
    return overflow_count_.load(std::memory_order_relaxed);
  }

 private:
  uint32_t pop_ring(Packet** out, uint32_t max) noexcept;
  uint32_t pop_staged(Packet** out, uint32_t max) noexcept;
  void push_overflow(Packet* const* packets, uint32_t n) noexcept;
  /// Moves what the ring holds now into staged_ (at most one ring's worth).
  void stage_ring() noexcept;

  struct RingMemory {
    void operator()(rte_ring* ring) const noexcept;
  };
  std::unique_ptr<rte_ring, RingMemory> ring_;
  // Read by every producer at every call, written only while packets overflow: a line of
  // its own keeps it shared in the common case.
  alignas(64) std::atomic<uint64_t> overflow_count_{0};
  PacketMpscQueue overflow_;
  PacketFifo staged_;  // consumer only: ring and overflow packets in their final order
};

}  // namespace pkio
