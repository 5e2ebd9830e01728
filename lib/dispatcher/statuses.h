/// @file
/// Adapter::take_statuses: the one reading of a serialized miniport's statuses, for the
/// run-to-completion path and the worker alike; inline, since each runs it once a call.
/// Internal to the dispatcher.
#pragma once

#include <pkio/adapter.h>
#include <pkio/cycles.h>

#include "dispatcher/packet_state.h"
#include "dispatcher/worker_role.h"

namespace pkio {

/// `now`, read from the clock first if it is still 0.
inline uint64_t stamp_now(uint64_t& now) noexcept {
  if (now == 0) now = read_cycles();
  return now;
}

template <bool lazy_stamp>
inline uint32_t Adapter::take_statuses(Packet* const* batch, uint32_t n, Packet** done, PacketState finished_state,
                                uint64_t& now) noexcept {
  // A serialized send_packets set a status on every packet before it returned (R16):
  // success -> `finished_state` and into `done`; pending -> the pending list (in hand-over
  // order, which R23's hang check relies on); resources -> this packet and every later one
  // still in the miniport go back to the head of the queue, in order, until the next
  // send_complete or send_resources_available (R16, R17); left unset -> a violation, failure;
  // anything else completes the packet with it (complete() checks it, R22). `lazy_stamp`:
  // the caller wrote no submit times (they cost a store a packet), so `now` (read here if
  // still 0) is written into every packet that does not come back here.
  Verifier* const verifier = verifier_.get();  // read once (see move_state)
  uint32_t finished = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Packet* p = batch[i];
    const Status s = p->oob.status;
    if (p->tracking.state.load(std::memory_order_relaxed) != PacketState::in_miniport) {
      // Completed inside the call (R8): already on its way back. Only pending may go with
      // that; a final status as well would be a second completion.
      if constexpr (lazy_stamp) p->tracking.submit_cycles = stamp_now(now);
      if (s != Status::pending) count_violation(&Violations::unexpected_completion, p);
      continue;
    }
    if (s == Status::success) [[likely]] {
      // Release: the protocol (and any thread it passes the packet to) sees the miniport's
      // writes. Before the handler call, so a handler may send the packet again.
      move_state(verifier, p, finished_state, std::memory_order_release);
      done[finished++] = p;
      continue;
    }
    if constexpr (lazy_stamp) p->tracking.submit_cycles = stamp_now(now);
    if (s == Status::pending) {
      move_state(verifier, p, PacketState::pending, std::memory_order_relaxed);
      link_pending(p);
    } else if (s == Status::resources) {
      // The hang check times the queue's head (R23), latency the later completions.
      if constexpr (lazy_stamp)
        for (uint32_t r = i + 1; r < n; ++r) batch[r]->tracking.submit_cycles = now;
      requeue_from(batch, i, n);
      break;
    } else if (s == status_unset) {
      count_violation(&Violations::status_unset, p);
      complete(p, Status::failure);
    } else {
      complete(p, s);
    }
  }
  return finished;
}


}  // namespace pkio
