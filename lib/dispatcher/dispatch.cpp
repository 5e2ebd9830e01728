// The worker's step (Adapter::poll): requests, submissions, link, dispatch to the miniport in
// arrays of at most maximum_send_packets, the miniport's own poll, timeouts, delivery.
#include <pkio/adapter.h>

#include <algorithm>

#include "dispatcher/binding.h"
#include "dispatcher/packet_state.h"
#include "dispatcher/statuses.h"
#include "dispatcher/worker_role.h"

namespace pkio {

uint32_t Adapter::poll() noexcept { return poll_in_role(true); }

uint32_t Adapter::poll_in_role(bool count_busy) noexcept {
  const WorkerRole role(*this);
  if (!role) [[unlikely]] {  // another thread is in the worker's role: touch nothing
    if (count_busy) count_violation(&Violations::concurrent_use);
    return 0;
  }
  if (in_poll_) return 0;  // a handler's send reached us: the outer step carries on
  in_poll_ = true;
  if (halted_.load(std::memory_order_relaxed)) [[unlikely]] {
    // The miniport may be gone: only what already completed (closing) is delivered.
    const uint32_t delivered = deliver();
    in_poll_ = false;
    return delivered;
  }

  take_control_request();
  // Normally dispatch() takes submissions itself, each packet touched once while it is
  // fresh; while the miniport is blocked they are moved along here, so that a packet that
  // failed at submission still completes.
  if (blocked_on_resources_) drain_submissions();
  drain_remote_completions();
  if (resources_signal_.load(std::memory_order_relaxed) &&
      resources_signal_.exchange(false, std::memory_order_acquire))
    blocked_on_resources_ = false;
  deliver_indications();
  if (indicated_media_ != MediaState::connected) fail_queued(Status::no_cable);  // R30
  dispatch();
  if (miniport_.poll) miniport_.poll(miniport_context_);
  drain_remote_completions();
  if (timeout_cycles_ != 0 && (pending_head_ != nullptr || blocked_on_resources_)) check_timeouts();
  const uint32_t delivered = deliver();
  in_poll_ = false;
  return delivered;
}

void Adapter::drain_submissions() noexcept {
  if (config_.run_to_completion) return;
  Packet* got[64];
  while (const uint32_t n = submissions_.pop_burst(got, 64))
    for (uint32_t i = 0; i < n; ++i) enqueue_here(got[i]);  // failed ones to completed_
}

void Adapter::drain_remote_completions() noexcept {
  while (Packet* p = remote_completions_.pop()) {
    // The claim means "in this queue": released only here, once the packet is out of it, so a
    // packet is never linked into the intrusive queue twice whatever the completions do.
    const Status status = p->tracking.remote_status;
    p->tracking.remote_claim.store(false, std::memory_order_release);
    const PacketState s = p->tracking.state.load(std::memory_order_relaxed);
    if (s != PacketState::in_miniport && s != PacketState::pending) {
      count_violation(&Violations::unexpected_completion, p);
      continue;
    }
    complete(p, status);
  }
}

void Adapter::dispatch() noexcept {
  Packet* batch[max_batch];
  // An array call's packets join the pending list after it returns, only those it did not
  // complete (take_statuses, after_deserialized_call); one-by-one sends link them first.
  const bool link_after = miniport_.send_packets != nullptr;
  // Bounded, so that producers that never pause cannot hold up the rest of the step.
  uint32_t from_submissions = config_.run_to_completion ? 0 : std::max(1024u, 4 * max_send_);
  while (!blocked_on_resources_) {
    Verifier* const verifier = verifier_.get();  // read once (see move_state)
    uint32_t n = 0;
    const auto hand_over = [&](Packet* p) noexcept {
      move_state(verifier, p, PacketState::in_miniport, std::memory_order_relaxed);
      p->oob.status = status_unset;
      if (!link_after) link_pending(p);
      batch[n++] = p;
    };
    // Requeued packets first: they were submitted before anything still in submissions_.
    while (n < max_send_) {
      Packet* p = queue_.pop_front();
      if (p == nullptr) break;
      hand_over(p);
    }
    while (n < max_send_ && from_submissions > 0) {
      // Taken into the batch itself, then kept in place (n never passes i).
      const uint32_t taken = submissions_.pop_burst(batch + n, std::min(max_send_ - n, from_submissions));
      if (taken == 0) break;
      from_submissions -= std::min(taken, from_submissions);
      const uint32_t end = n + taken;
      for (uint32_t i = n; i < end; ++i) {
        Packet* p = batch[i];
        if (p->tracking.state.load(std::memory_order_relaxed) == PacketState::completing) [[unlikely]]
          completed_.push_back(p);  // failed at submission (R2, R10): it completes, in no queue
        else
          hand_over(p);
      }
    }
    if (n == 0) break;
    batch_sizes_[n].add(1);
    if (miniport_.send_packets != nullptr) {
      // Earlier successes go first, before the call adds its own (inline send_completes, R8,
      // and the statuses after it): up to 2n more must fit.
      if (finished_count_ != 0 && (n >= deliver_at_once_from || finished_count_ + 2 * n > finished_.size()))
        deliver_finished();
      miniport_.send_packets(miniport_context_, batch, n);
      if (miniport_.deserialized) {
        after_deserialized_call(batch, n);
        if (finished_count_ >= 64) deliver_finished();
      } else {
        after_serialized_call(batch, n);
      }
    } else {
      send_one_by_one(batch, n);
    }
  }
  deliver_finished();  // once per step, not per miniport call: small arrays stay cheap
}

void Adapter::after_serialized_call(Packet* const* batch, uint32_t n) noexcept {
  // Successes of a large array go back to their bindings at once (NDIS: NdisMSendComplete
  // right after MiniportSendPackets), from the same pass that reads the statuses; those of
  // small arrays are gathered for deliver_finished (at the end of dispatch(), or once 64 have
  // gathered), so that handler calls stay large. Gathered ones wait as `completing`: a second
  // completion meanwhile must find them no longer in the miniport (R20), and a resubmission
  // must find them not yet the protocol's.
  const bool at_once = n >= deliver_at_once_from;
  if (at_once) {
    Packet* done[max_batch];
    uint64_t unused = 0;
    const uint32_t finished = take_statuses<false>(batch, n, done, PacketState::protocol, unused);
    return_successes(done, finished, 0, nullptr);
    return;
  }
  uint64_t unused = 0;
  finished_count_ += take_statuses<false>(batch, n, finished_.data() + finished_count_, PacketState::completing, unused);
  if (finished_count_ >= 64) deliver_finished();
}

void Adapter::after_deserialized_call(Packet* const* batch, uint32_t n) noexcept {
  // A deserialized miniport keeps what it cannot send yet (R18): every packet it did not
  // complete inside the call pends, in hand-over order (R23's hang check relies on it).
  for (uint32_t i = 0; i < n; ++i) {
    Packet* p = batch[i];
    if (p->oob.status == Status::resources) count_violation(&Violations::deserialized_resources, p);
    if (p->tracking.state.load(std::memory_order_relaxed) != PacketState::in_miniport) continue;
    move_state(p, PacketState::pending, std::memory_order_relaxed);
    link_pending(p);
  }
}

void Adapter::requeue_from(Packet* const* batch, uint32_t from, uint32_t n) noexcept {
  Packet* back[max_batch];
  uint32_t k = 0;
  for (uint32_t j = from; j < n; ++j) {
    Packet* q = batch[j];
    // Completed inside the call (R8): already on its way back, not requeued.
    if (q->tracking.state.load(std::memory_order_relaxed) != PacketState::in_miniport) continue;
    unlink_pending(q);
    move_state(q, PacketState::queued, std::memory_order_relaxed);
    back[k++] = q;
  }
  queue_.push_front(back, k);
  requeued_.add(k);
  resources_events_.add(1);
  blocked_on_resources_ = true;
}

void Adapter::send_one_by_one(Packet* const* batch, uint32_t n) noexcept {
  for (uint32_t i = 0; i < n; ++i) {
    Packet* p = batch[i];
    const Status s = miniport_.send(miniport_context_, p, p->flags);
    if (p->tracking.state.load(std::memory_order_relaxed) != PacketState::in_miniport) continue;
    if (s == Status::pending) {
      move_state(p, PacketState::pending, std::memory_order_relaxed);
    } else if (s == Status::resources && !miniport_.deserialized) {  // R19
      requeue_from(batch, i, n);  // the later ones were never handed over: all in_miniport
      return;
    } else {
      complete(p, s);
    }
  }
}

void Adapter::link_pending(Packet* p) noexcept {
  p->tracking.pending_next = nullptr;
  p->tracking.pending_prev = pending_tail_;
  if (pending_tail_ != nullptr)
    pending_tail_->tracking.pending_next = p;
  else
    pending_head_ = p;
  pending_tail_ = p;
  ++pending_count_;
}

void Adapter::unlink_pending(Packet* p) noexcept {
  Packet* prev = p->tracking.pending_prev;
  Packet* next = p->tracking.pending_next;
  if (prev == nullptr && next == nullptr && pending_head_ != p) return;  // not linked
  if (prev != nullptr) prev->tracking.pending_next = next; else pending_head_ = next;
  if (next != nullptr) next->tracking.pending_prev = prev; else pending_tail_ = prev;
  p->tracking.pending_prev = p->tracking.pending_next = nullptr;
  --pending_count_;
}

}  // namespace pkio
