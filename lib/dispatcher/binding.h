/// @file
/// Binding: one protocol opened on one adapter (NDIS: the open block). Internal.
#pragma once

#include <atomic>
#include <cstdint>

#include <pkio/adapter.h>
#include <pkio/protocol.h>

namespace pkio {

class Binding {
 public:
  Binding(Adapter& adapter, const ProtocolCharacteristics& protocol, void* context, uint32_t slot,
          bool one_writer) noexcept
      : adapter_(adapter), protocol_(protocol), context_(context), slot_(slot), one_writer_(one_writer) {}

  /// `n` more packets accepted. On a run-to-completion adapter every change comes from the
  /// thread in the worker's role (one at a time), so a plain load and store does, not a locked
  /// instruction; with producers on other threads it takes one.
  void add_outstanding(uint64_t n) noexcept {
    if (one_writer_)
      outstanding_.store(outstanding_.load(std::memory_order_relaxed) + n, std::memory_order_release);
    else
      outstanding_.fetch_add(n, std::memory_order_acq_rel);
  }
  /// add_outstanding on a run-to-completion adapter's own path (the direct send), where
  /// one_writer_ holds by construction: no test.
  void add_outstanding_alone(uint64_t n) noexcept {
    outstanding_.store(outstanding_.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }
  /// `n` packets back with their protocol; returns the count before. Sequentially consistent
  /// with close_adapter's store of closing_ where several threads change the count (see
  /// Adapter::returned); alone, the one writer makes that ordering moot.
  uint64_t sub_outstanding(uint64_t n) noexcept {
    if (!one_writer_) return outstanding_.fetch_sub(n);
    const uint64_t before = outstanding_.load(std::memory_order_relaxed);
    outstanding_.store(before - n, std::memory_order_release);
    return before;
  }

  Adapter& adapter_;
  ProtocolCharacteristics protocol_;
  void* context_;
  uint32_t slot_;  ///< its place among the adapter's open bindings, free again once closed
  bool one_writer_;  ///< the adapter is run-to-completion: one thread changes outstanding_
  std::atomic<bool> closing_{false};
  std::atomic<bool> slot_released_{false};  ///< the slot was given back (once)
  /// Packets accepted and not yet delivered back. Producers add before queueing (release);
  /// the worker subtracts after the handler returns, so close never returns mid-handler.
  std::atomic<uint64_t> outstanding_{0};
};

// returned, on the direct path of a run-to-completion adapter (one writer, see add_outstanding_alone).
inline void Adapter::returned_alone(Binding& binding, uint64_t n) noexcept {
  const uint64_t before = binding.outstanding_.load(std::memory_order_relaxed);
  binding.outstanding_.store(before - n, std::memory_order_release);
  if (before == n && binding.closing_.load()) [[unlikely]] release_slot(binding);
}

inline void Adapter::returned(Binding& binding, uint64_t n) noexcept {
  // The last packet of a closing binding frees its slot (close_adapter from inside a handler
  // answered pending); sequentially consistent with close_adapter's store and load.
  if (binding.sub_outstanding(n) == n && binding.closing_.load()) [[unlikely]] release_slot(binding);
}

}  // namespace pkio
