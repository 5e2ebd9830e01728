/// @file
/// Binding: one protocol opened on one adapter (NDIS: the open block). Internal.
#pragma once

#include <atomic>
#include <cstdint>

#include <pkio/protocol.h>

namespace pkio {

class Binding {
 public:
  Binding(Adapter& adapter, const ProtocolCharacteristics& protocol, void* context, uint32_t slot) noexcept
      : adapter_(adapter), protocol_(protocol), context_(context), slot_(slot) {}

  Adapter& adapter_;
  ProtocolCharacteristics protocol_;
  void* context_;
  uint32_t slot_;  ///< its place among the adapter's open bindings, free again once closed
  std::atomic<bool> closing_{false};
  std::atomic<bool> slot_released_{false};  ///< the slot was given back (once)
  /// Packets accepted and not yet delivered back. Producers add before queueing (release);
  /// the worker subtracts after the handler returns, so close never returns mid-handler.
  std::atomic<uint64_t> outstanding_{0};
};

}  // namespace pkio
