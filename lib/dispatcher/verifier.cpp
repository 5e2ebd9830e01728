#include "dispatcher/verifier.h"

#include <algorithm>
#include <cstdio>

namespace pkio {

std::string_view to_string(PacketState state) noexcept {
  switch (state) {
    case PacketState::free: return "free";
    case PacketState::protocol: return "protocol";
    case PacketState::queued: return "queued";
    case PacketState::in_miniport: return "in_miniport";
    case PacketState::pending: return "pending";
    case PacketState::completing: return "completing";
  }
  return "unknown";
}

void Verifier::illegal(const Packet* p, PacketState from, PacketState to) noexcept {
  const auto f = static_cast<unsigned>(from), t = static_cast<unsigned>(to);
  if (f < packet_state_count && t < packet_state_count)
    illegal_[f * packet_state_count + t].fetch_add(1, std::memory_order_relaxed);
  keep(VerifierEvent{p, p->tracking.binding, "illegal_transition", from, to});
}

void Verifier::note(std::string_view what, const Packet* p) noexcept {
  VerifierEvent e{p, nullptr, what, PacketState::free, PacketState::free};
  if (p != nullptr) {
    e.binding = p->tracking.binding;
    e.from = e.to = p->tracking.state.load(std::memory_order_relaxed);
  }
  keep(e);
}

void Verifier::keep(const VerifierEvent& event) noexcept {
  std::lock_guard lock(events_mutex_);
  events_[events_total_ % event_capacity] = event;
  ++events_total_;
}

VerifierReport Verifier::report() const {
  VerifierReport r;
  r.enabled = true;
  r.transitions = transitions_.load(std::memory_order_relaxed);
  for (unsigned f = 0; f < packet_state_count; ++f)
    for (unsigned t = 0; t < packet_state_count; ++t) {
      r.illegal_by_transition[f][t] = illegal_[f * packet_state_count + t].load(std::memory_order_relaxed);
      r.illegal += r.illegal_by_transition[f][t];
    }
  for (unsigned s = 0; s < packet_state_count; ++s) r.census[s] = census_[s].load(std::memory_order_relaxed);
  std::lock_guard lock(events_mutex_);
  r.events = events_total_;
  const uint64_t kept = std::min<uint64_t>(events_total_, event_capacity);
  for (uint64_t i = events_total_ - kept; i < events_total_; ++i) r.recent.push_back(events_[i % event_capacity]);
  return r;
}

std::string format_verifier_report(const VerifierReport& r) {
  if (!r.enabled) return "verifier: off\n";
  char line[256];
  std::string out;
  std::snprintf(line, sizeof line, "verifier: %llu transitions checked, %llu illegal, %llu violations kept\n",
                static_cast<unsigned long long>(r.transitions), static_cast<unsigned long long>(r.illegal),
                static_cast<unsigned long long>(r.events));
  out += line;
  out += "  now:";
  for (const PacketState s : {PacketState::queued, PacketState::in_miniport, PacketState::pending,
                              PacketState::completing}) {
    std::snprintf(line, sizeof line, " %s %lld", std::string(to_string(s)).c_str(),
                  static_cast<long long>(r.census[static_cast<unsigned>(s)]));
    out += line;
  }
  out += "\n";
  for (unsigned f = 0; f < packet_state_count; ++f)
    for (unsigned t = 0; t < packet_state_count; ++t)
      if (r.illegal_by_transition[f][t] != 0) {
        std::snprintf(line, sizeof line, "  illegal %s -> %s: %llu\n",
                      std::string(to_string(static_cast<PacketState>(f))).c_str(),
                      std::string(to_string(static_cast<PacketState>(t))).c_str(),
                      static_cast<unsigned long long>(r.illegal_by_transition[f][t]));
        out += line;
      }
  for (const VerifierEvent& e : r.recent) {
    std::snprintf(line, sizeof line, "  %s: packet %p of binding %p, %s%s%s\n", std::string(e.what).c_str(),
                  static_cast<const void*>(e.packet), e.binding, std::string(to_string(e.from)).c_str(),
                  e.what == "illegal_transition" ? " -> " : "",
                  e.what == "illegal_transition" ? std::string(to_string(e.to)).c_str() : "");
    out += line;
  }
  return out;
}

}  // namespace pkio
