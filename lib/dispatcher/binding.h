/// @file
/// Binding: one protocol opened on one adapter (NDIS: the open block). Internal.
#pragma once

#include <atomic>
#include <cstdint>

#include "protocol/protocol.h"

namespace pkio {

class Binding {
 public:
  Binding(Adapter& adapter, const ProtocolCharacteristics& protocol, void* context) noexcept
      : adapter_(adapter), protocol_(protocol), context_(context) {}

  Adapter& adapter_;
  ProtocolCharacteristics protocol_;
  void* context_;
  std::atomic<bool> closing_{false};
  /// Packets accepted and not yet delivered back. Producers add before queueing (release);
  /// the worker subtracts after the handler returns, so close never returns mid-handler.
  std::atomic<uint64_t> outstanding_{0};
};

}  // namespace pkio
