/// @file
/// Adapter::move_state: every packet state change the dispatcher makes. Internal.
#pragma once

#include <pkio/adapter.h>

#include "dispatcher/verifier.h"

namespace pkio {

inline void Adapter::move_state(Verifier* verifier, Packet* p, PacketState to, std::memory_order order) noexcept {
  if (verifier == nullptr) [[likely]]
    p->tracking.state.store(to, order);
  else
    verifier->move(p, to, order);
}

inline void Adapter::move_state(Packet* p, PacketState to, std::memory_order order) noexcept {
  move_state(verifier_.get(), p, to, order);
}

}  // namespace pkio
