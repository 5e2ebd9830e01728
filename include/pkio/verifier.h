/// @file
/// What the dispatcher's verifier mode reports (what NDIS 5.1's Driver Verifier and the checked
/// ndis.sys did for NDIS drivers): with AdapterConfig::verifier set, every packet state change
/// the adapter makes is an atomic exchange checked against the legal transitions of
/// PacketState, the adapter keeps a census of its packets per state, and every contract
/// violation it survives is kept as an event naming the packet and its binding. Without it,
/// the adapter still detects and counts violations (Violations) but writes states without
/// reading them. Adapter::verifier_report() returns a VerifierReport.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <pkio/packet.h>

namespace pkio {

/// Number of PacketState values.
inline constexpr unsigned packet_state_count = 6;

/// The snake_case name of a packet state ("queued", "in_miniport", ...).
[[nodiscard]] std::string_view to_string(PacketState state) noexcept;

/// True if the framework may move a packet from `from` to `to`: protocol -> queued,
/// in_miniport (run-to-completion) or completing (failed at submission); queued ->
/// in_miniport or completing (no cable, reset, halt); in_miniport -> pending, queued
/// (requeued after resources), completing, or protocol (completed in the call, delivered at
/// once); pending -> completing; completing -> protocol. Pools own free <-> protocol.
[[nodiscard]] constexpr bool legal_transition(PacketState from, PacketState to) noexcept {
  using S = PacketState;
  switch (from) {
    case S::protocol: return to == S::queued || to == S::in_miniport || to == S::completing;
    case S::queued: return to == S::in_miniport || to == S::completing;
    case S::in_miniport:
      return to == S::pending || to == S::queued || to == S::completing || to == S::protocol;
    case S::pending: return to == S::completing;
    case S::completing: return to == S::protocol;
    case S::free: return false;
  }
  return false;
}

/// One violation the verifier kept.
struct VerifierEvent {
  const Packet* packet = nullptr;   ///< the packet concerned (null for a null array entry)
  const void* binding = nullptr;    ///< the binding that last submitted it, if any
  std::string_view what;            ///< "illegal_transition" or a Violations field name
  PacketState from = PacketState::free;  ///< the state the packet was in
  PacketState to = PacketState::free;    ///< illegal_transition: the state asked for
};

/// What the verifier saw, from Adapter::verifier_report().
struct VerifierReport {
  bool enabled = false;             ///< false: the adapter runs without the verifier
  uint64_t transitions = 0;         ///< state changes checked
  uint64_t illegal = 0;             ///< of which not legal_transition
  /// illegal_by_transition[from][to]
  std::array<std::array<uint64_t, packet_state_count>, packet_state_count> illegal_by_transition{};
  /// Packets of this adapter in each state now (queued, in_miniport, pending, completing;
  /// the protocol and free states belong to protocols and pools and read 0).
  std::array<int64_t, packet_state_count> census{};
  uint64_t events = 0;              ///< violations kept since the start
  std::vector<VerifierEvent> recent;  ///< the last ones (at most 64), oldest first
};

/// Several lines: the census, the illegal transitions and the recent events.
[[nodiscard]] std::string format_verifier_report(const VerifierReport& report);

}  // namespace pkio
