// The miniport edge (miniport.h): what a miniport calls. send_complete may come from any
// thread; on the worker's own thread it completes in place, from any other it goes through
// the remote queue, which the worker drains at its next step.
#include <pkio/adapter.h>

#include <algorithm>
#include <cstring>

#include "dispatcher/packet_state.h"
#include "dispatcher/worker_role.h"

namespace pkio {

// The next n entries of a direct call's array complete in order, with success (see
// Adapter::direct_next_): they are known to be this adapter's, in the miniport and completed
// nowhere else, so only their state moves. Not being in_miniport any more is what makes a
// second completion a violation (R20).
inline void Adapter::complete_in_order(uint32_t n) noexcept {
  Packet* const* const next = direct_next_;
  for (uint32_t i = 0; i < n; ++i) next[i]->tracking.state.store(PacketState::protocol, std::memory_order_relaxed);
  direct_next_ = next + n;
}

void send_complete(Adapter& adapter, Packet* packet, Status status) noexcept {
  if (adapter.on_worker())
    adapter.complete_from_worker(packet, status);
  else
    adapter.complete_from_remote(packet, status);
}

void send_complete_packets(Adapter& adapter, Packet* const* packets, uint32_t n, Status status) noexcept {
  if (packets == nullptr) return;
  if (!adapter.on_worker()) [[unlikely]] {
    adapter.complete_array_from_remote(packets, n, status);
    return;
  }
  // A direct call's array completed in order, the common case: here, not in a callee, so
  // that it saves no registers.
  if (packets == adapter.direct_next_ && status == Status::success && n <= adapter.direct_end_ - packets) [[likely]] {
    adapter.complete_in_order(n);
    return;
  }
  adapter.complete_array_from_worker(packets, n, status);
}

void send_resources_available(Adapter& adapter) noexcept {
  adapter.resources_signal_.store(true, std::memory_order_release);  // read by poll()
}

void indicate_status(Adapter& adapter, Indication indication) noexcept {
  // Delivered to the bindings by the worker, on a real change only (R29); reset_start and
  // reset_end come from the framework's own reset path, not from miniports.
  if (indication == Indication::media_connect)
    adapter.media_state_.store(MediaState::connected, std::memory_order_release);
  else if (indication == Indication::media_disconnect)
    adapter.media_state_.store(MediaState::disconnected, std::memory_order_release);
}

uint64_t remove_miniport(Adapter& adapter) noexcept {
  const uint64_t in_flight = adapter.counters().in_flight;
  adapter.halt();
  return in_flight;
}

Adapter* submitted_to(const Packet* packet) noexcept {
  return packet ? static_cast<Adapter*>(packet->tracking.adapter) : nullptr;
}

void* miniport_context(const Adapter& adapter) noexcept { return adapter.miniport_context_; }

Status answer_query(const void* value, uint32_t size, void* buffer, uint32_t length,
                    uint32_t* bytes_written, uint32_t* bytes_needed) noexcept {
  *bytes_written = 0;
  *bytes_needed = size;
  if (buffer == nullptr || length < size) return Status::invalid_length;
  std::memcpy(buffer, value, size);
  *bytes_written = size;
  return Status::success;
}

bool Adapter::completable(Packet* p) noexcept {
  if (p == nullptr || p->tracking.adapter != this) [[unlikely]] {
    count_violation(&Violations::foreign_completion, p);
    return false;
  }
  const PacketState s = p->tracking.state.load(std::memory_order_relaxed);
  if (s != PacketState::in_miniport && s != PacketState::pending) [[unlikely]] {
    count_violation(&Violations::unexpected_completion, p);  // R20, also a packet twice in one array
    return false;
  }
  return true;
}

void Adapter::complete_from_worker(Packet* p, Status status) noexcept {
  if (direct_next_ != nullptr) {
    if (status == Status::success && direct_next_ != direct_end_ && *direct_next_ == p) [[likely]] {
      complete_in_order(1);
      return;
    }
    leave_direct_order();
  }
  if (status == Status::success && in_poll_ && finished_count_ < finished_.size()) [[likely]] {
    gather_successes(&p, 1);
    return;
  }
  if (completable(p)) complete(p, status);
}

// A deserialized miniport's way back for every array but a direct call's in order: the
// common array (successes, in a step, handed over by an array call, no verifier) costs a few
// tests and one loop; anything else goes the general way.
void Adapter::complete_array_from_worker(Packet* const* packets, uint32_t n, Status status) noexcept {
  if (direct_next_ != nullptr) leave_direct_order();  // not the next in order (send_complete_packets)
  // Not being in_miniport any more is what makes a second completion a violation (R20).
  if (status == Status::success && in_poll_ && finished_.size() - finished_count_ >= n && verifier_ == nullptr &&
      miniport_.send_packets != nullptr) [[likely]] {
    const uint32_t gathered = gather_leading(packets, n, finished_.data() + finished_count_,
                                             direct_chunk_ != nullptr ? PacketState::protocol : PacketState::completing);
    finished_count_ += gathered;
    finished_by_complete_ = true;  // their oob.status is written when they are delivered
    blocked_on_resources_ = false;  // as complete(): a send_complete resumes requeued packets (R16)
    if (gathered == n) [[likely]] return;
    packets += gathered;
    n -= gathered;
  }
  complete_array_generally(packets, n, status);
}

void Adapter::leave_direct_order() noexcept {
  // finished_ is empty here: a direct call starts with it delivered, and only completions
  // that are not in order add to it, the first of which comes here.
  const auto in_order = static_cast<uint32_t>(direct_next_ - direct_chunk_);
  std::copy_n(direct_chunk_, in_order, finished_.data() + finished_count_);
  finished_count_ += in_order;
  if (in_order != 0) finished_by_complete_ = true;  // their oob.status is written when delivered
  direct_next_ = nullptr;
}

void Adapter::complete_array_generally(Packet* const* packets, uint32_t n, Status status) noexcept {
  if (status != Status::success || !in_poll_ || finished_.size() - finished_count_ < n) {
    for (uint32_t i = 0; i < n; ++i) complete_from_worker(packets[i], status);
    return;
  }
  gather_successes(packets, n);
}

// Apart from gather_successes, so that its loop has the registers to itself.
uint32_t Adapter::gather_leading(Packet* const* packets, uint32_t n, Packet** out, PacketState to) noexcept {
  uint32_t i = 0;
  for (; i < n; ++i) {
    Packet* p = packets[i];
    if (p == nullptr || p->tracking.adapter != this ||
        p->tracking.state.load(std::memory_order_relaxed) != PacketState::in_miniport) [[unlikely]]
      break;
    p->tracking.state.store(to, std::memory_order_relaxed);
    out[i] = p;
  }
  return i;
}

void Adapter::gather_successes(Packet* const* packets, uint32_t n) noexcept {
  // A deserialized miniport's successes inside a step or a direct call, one NdisMSendComplete
  // each or an array of them, are gathered like a serialized one's (deliver_finished, before
  // the step or the call ends): they go back in arrays, and the completed list is not touched
  // per packet. What the loop needs is held in locals: its stores to packets could alias the
  // adapter's members, which the compiler would then reload at every packet.
  Verifier* const verifier = verifier_.get();  // read once (see move_state)
  // Array calls link their packets after the call (dispatch), so one still in_miniport is in
  // the pending list only if it went by the one-packet send.
  const bool linked_at_hand_over = miniport_.send_packets == nullptr;
  Packet** const out = finished_.data();
  uint32_t count = finished_count_;
  uint32_t i = 0;
  if (verifier == nullptr && !linked_at_hand_over) [[likely]] {
    // The common array: every packet this adapter's, still in the miniport (handed over by
    // an array call, so in no list). The first that is not leaves the rest to the loop below.
    // Not being in_miniport any more is what makes a second completion a violation (R20).
    i = gather_leading(packets, n, out + count,
                       direct_chunk_ != nullptr ? PacketState::protocol : PacketState::completing);
    count += i;
  }
  for (; i < n; ++i) {
    Packet* p = packets[i];
    if (!completable(p)) [[unlikely]]
      continue;
    if (linked_at_hand_over || p->tracking.state.load(std::memory_order_relaxed) == PacketState::pending) unlink_pending(p);
    move_state(verifier, p, PacketState::completing, std::memory_order_relaxed);
    out[count++] = p;
  }
  finished_count_ = count;
  finished_by_complete_ = true;  // their oob.status is written when they are delivered
  blocked_on_resources_ = false;  // as complete(): a send_complete resumes requeued packets (R16)
}

// Apart from send_complete_packets, so that the worker's way through it saves no registers.
void Adapter::complete_array_from_remote(Packet* const* packets, uint32_t n, Status status) noexcept {
  for (uint32_t i = 0; i < n; ++i) complete_from_remote(packets[i], status);
}

void Adapter::complete_from_remote(Packet* p, Status status) noexcept {
  if (p == nullptr || p->tracking.adapter != this) {  // the state is the worker's to read
    count_violation(&Violations::foreign_completion, p);
    return;
  }
  // The exchange makes a second completion from any thread lose before it reaches the queue.
  if (p->tracking.remote_claim.exchange(true, std::memory_order_acq_rel)) {
    count_violation(&Violations::unexpected_completion, p);
    return;
  }
  p->tracking.remote_status = status;
  remote_completions_.push(p);  // the worker checks the state and completes (R8)
}

}  // namespace pkio
