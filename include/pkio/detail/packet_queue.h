/// @file
/// Intrusive packet queues of the dispatcher, linked through PacketTracking::next, so queueing
/// never allocates and a queue holds any number of packets (they all come from fixed pools).
///
/// PacketFifo: single-threaded FIFO with push at the front (for requeues after `resources`).
/// PacketMpscQueue: many producers, one consumer (the adapter's worker).
///
/// PacketMpscQueue algorithm (D. Vyukov's intrusive MPSC queue): producers link a whole
/// chain with one atomic exchange on head_ and then store the old head's next pointer; the
/// consumer walks from tail_ through next pointers, using a stub node to tell empty from one
/// element. Producers are wait-free; the consumer sees "empty" for the short moment between a
/// producer's exchange and its next store, and picks the chain up on its next poll. Order is
/// FIFO per producer call, and across calls in the order of their exchanges.
#pragma once

#include <atomic>
#include <cstdint>

#include <pkio/packet.h>

namespace pkio {

/// A FIFO of packets owned by one thread.
class PacketFifo {
 public:
  /// True if no packet is queued.
  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  /// Packets queued.
  [[nodiscard]] uint64_t size() const noexcept { return size_; }

  /// Appends a packet.
  void push_back(Packet* p) noexcept {
    p->tracking.next.store(nullptr, std::memory_order_relaxed);
    if (tail_ != nullptr)
      tail_->tracking.next.store(p, std::memory_order_relaxed);
    else
      head_ = p;
    tail_ = p;
    ++size_;
  }

  /// Puts packets[0..n) back at the head, keeping their order (contract R16, R17).
  void push_front(Packet* const* packets, uint32_t n) noexcept {
    for (uint32_t i = n; i-- > 0;) {
      Packet* p = packets[i];
      p->tracking.next.store(head_, std::memory_order_relaxed);
      head_ = p;
      if (tail_ == nullptr) tail_ = p;
      ++size_;
    }
  }

  /// The oldest packet, or null.
  [[nodiscard]] Packet* front() const noexcept { return head_; }

  /// Removes and returns the oldest packet, or null.
  Packet* pop_front() noexcept {
    Packet* p = head_;
    if (p == nullptr) return nullptr;
    head_ = p->tracking.next.load(std::memory_order_relaxed);
    if (head_ == nullptr) tail_ = nullptr;
    --size_;
    return p;
  }

 private:
  Packet* head_ = nullptr;
  Packet* tail_ = nullptr;
  uint64_t size_ = 0;
};

/// Many-producer, single-consumer intrusive queue of packets (see the file comment).
class PacketMpscQueue {
 public:
  PacketMpscQueue() noexcept : head_(&stub_), tail_(&stub_) {}
  PacketMpscQueue(const PacketMpscQueue&) = delete;
  PacketMpscQueue& operator=(const PacketMpscQueue&) = delete;

  /// Appends the chain first..last, already linked through tracking.next. Any thread.
  void push_chain(Packet* first, Packet* last) noexcept {
    last->tracking.next.store(nullptr, std::memory_order_relaxed);
    // acq_rel: release publishes the chain's contents; acquire orders us after the previous
    // producer so that our store into prev->next lands on a node the consumer will walk.
    Packet* prev = head_.exchange(last, std::memory_order_acq_rel);
    prev->tracking.next.store(first, std::memory_order_release);  // pairs with pop()'s acquire
  }
  /// Appends one packet. Any thread.
  void push(Packet* p) noexcept { push_chain(p, p); }

  /// Removes the oldest packet, or returns null if empty (or a push is half done). Consumer only.
  Packet* pop() noexcept {
    Packet* tail = tail_;
    Packet* next = tail->tracking.next.load(std::memory_order_acquire);
    if (tail == &stub_) {
      if (next == nullptr) return nullptr;
      tail_ = tail = next;
      next = next->tracking.next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    if (tail != head_.load(std::memory_order_acquire)) return nullptr;  // a push is half done
    push(&stub_);
    next = tail->tracking.next.load(std::memory_order_acquire);
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    return nullptr;
  }

  /// True if nothing is queued (approximate while producers push). Any thread.
  [[nodiscard]] bool empty_approx() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_ &&
           tail_->tracking.next.load(std::memory_order_acquire) == nullptr;
  }

 private:
  alignas(64) std::atomic<Packet*> head_;
  alignas(64) Packet* tail_;
  Packet stub_;
};

}  // namespace pkio
