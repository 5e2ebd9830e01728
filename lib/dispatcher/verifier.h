/// @file
/// The verifier's state (see <pkio/verifier.h> for what it reports): owned by an Adapter
/// created with AdapterConfig::verifier. Internal to the dispatcher.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>

#include <pkio/packet.h>
#include <pkio/verifier.h>

namespace pkio {

/// The verifier's state; owned by an Adapter created with AdapterConfig::verifier.
class Verifier {
 public:
  /// Moves `p` to `to` (an exchange with `order`), counting the transition and checking it.
  void move(Packet* p, PacketState to, std::memory_order order) noexcept {
    const PacketState from = p->tracking.state.exchange(to, order);
    transitions_.fetch_add(1, std::memory_order_relaxed);
    count_in(from, -1);
    count_in(to, +1);
    if (!legal_transition(from, to)) [[unlikely]] illegal(p, from, to);
  }
  /// Keeps a violation event (`what`: a static name) for `p`, which may be null.
  void note(std::string_view what, const Packet* p) noexcept;
  /// A consistent copy of what was seen.
  [[nodiscard]] VerifierReport report() const;

 private:
  static constexpr std::size_t event_capacity = 64;
  void count_in(PacketState s, int64_t delta) noexcept {
    if (s != PacketState::free && s != PacketState::protocol)
      census_[static_cast<unsigned>(s)].fetch_add(delta, std::memory_order_relaxed);
  }
  void illegal(const Packet* p, PacketState from, PacketState to) noexcept;
  void keep(const VerifierEvent& event) noexcept;

  std::atomic<uint64_t> transitions_{0};
  std::array<std::atomic<uint64_t>, packet_state_count * packet_state_count> illegal_{};
  std::array<std::atomic<int64_t>, packet_state_count> census_{};
  mutable std::mutex events_mutex_;  // taken only when a violation is kept (never on success)
  std::array<VerifierEvent, event_capacity> events_{};
  uint64_t events_total_ = 0;
};

}  // namespace pkio
