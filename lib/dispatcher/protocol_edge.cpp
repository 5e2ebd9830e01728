// The protocol edge (protocol.h): send and send_packets, bindings, requests. Every entry of
// a call is claimed (taken from its protocol) before any of it can reach the miniport, so an
// entry repeated in the same call finds its packet the framework's and is refused (R40).
#include <pkio/adapter.h>

#include <algorithm>
#include <iterator>

#include <pkio/cycles.h>

#include "dispatcher/binding.h"
#include "dispatcher/packet_state.h"
#include "dispatcher/statuses.h"
#include "dispatcher/worker_role.h"

namespace pkio {

namespace {

/// Takes a packet from its protocol: it must be the protocol's (not free, not in flight).
bool take_ownership(Packet* p) noexcept {
  return p != nullptr && p->tracking.state.load(std::memory_order_acquire) == PacketState::protocol;
}

void stamp(Packet* p, Binding* b, Adapter* a, uint64_t now) noexcept {
  p->tracking.binding = b;
  p->tracking.adapter = a;
  p->tracking.submit_cycles = now;
}

}  // namespace

// --- the direct path (defined before its callers: a template inlines only where it is seen) ---

// Whether a call may go straight to the miniport: an array it takes, and none of what makes
// send_packets queue or refuse. Anything queued (requeued after `resources`, or sent from a
// handler) goes first (R6); a poll step in progress, a control request or a link change is
// left to poll(); a closing binding, a halt, a reset or no link refuse (admit_state). The
// conditions are read without a branch between them: on nearly every call none holds, and
// ten compares and one branch cost a send less than ten branches.
__attribute__((always_inline)) inline bool Adapter::direct_open(const Binding& binding, uint32_t n) const noexcept {
  // Tested first and alone: on an adapter with a worker thread max_direct_ is 0, and the rest
  // is the worker's to read.
  if (n > max_direct_) return false;
  const bool shut = static_cast<bool>(static_cast<unsigned>(in_poll_) | blocked_on_resources_ |
                                      static_cast<unsigned>(indicated_media_ != MediaState::connected) |
                                      static_cast<unsigned>(!queue_.empty()) |
                                      static_cast<unsigned>(mailbox_.load(std::memory_order_relaxed) != nullptr) |
                                      binding.closing_.load(std::memory_order_relaxed) |
                                      halting_.load(std::memory_order_relaxed) |
                                      resetting_.load(std::memory_order_relaxed) |
                                      static_cast<unsigned>(media_state_.load(std::memory_order_relaxed) != MediaState::connected));
  return !shut;
}

// Inline: accept_one and accept_array are its only callers, and a call level is a good
// part of what a one-packet send costs.
template <bool one_send>
__attribute__((always_inline)) inline Status Adapter::send_direct(Binding& binding, Packet* const* packets,
                                                                  uint32_t n) noexcept {
  // The queued path, fused for a run-to-completion caller with an array that fits one
  // miniport call: each entry is claimed and checked, the array goes to the miniport, and its
  // successes go back at once, counted per call rather than per packet. Packets the miniport
  // leaves pending join the pending list; at `resources` the rest is requeued (R16).
  // The clock costs as much as the rest of a small call, so it is read only when needed: for
  // packets that do not complete here (their submit time, R23), and on one call in every
  // latency_sample_packets packets' worth, whose packets are timed (latency samples) and
  // which checks whether the next poll step is due.
  in_poll_ = true;
  binding.add_outstanding_alone(n);  // before any can complete (run-to-completion: one writer)
  Verifier* const verifier = verifier_.get();  // read once (see move_state)
  const bool miniport_checks = miniport_.checks_packets;
  uint32_t good = 0;  // the leading entries that are the protocol's and valid, claimed
  for (; good < n; ++good) {
    Packet* p = packets[good];
    if (!take_ownership(p) || (!miniport_checks && admit_packet(p) != Status::success)) [[unlikely]]
      break;
    claim_for_miniport(verifier, p, binding);
  }
  uint64_t now = 0;  // read_cycles(), once something needs it
  Packet* const* chunk = packets;  // while every entry goes, the caller's array itself: no copy
  uint32_t k = n, accepted = n;
  Packet* chunk_store[max_batch];
  if (good != n) [[unlikely]] {
    const SortedEntries sorted = sort_entries(binding, packets, good, n, chunk_store);
    k = sorted.to_miniport;
    accepted = sorted.accepted;
    now = sorted.now;
    chunk = chunk_store;
  }
  // Counted before any of it can complete, so that a live reader of the counters never sees
  // more completed than submitted. A serialized miniport's completions are counted only as
  // they are delivered, after its call: one_send counts once the miniport has answered.
  if constexpr (!one_send) submitted_direct_.add(accepted);
  if (!one_send && k > 0 && miniport_.deserialized) [[unlikely]] {
    batch_sizes_[k].add(1);
    latency_credit_ += k;
    const bool timed = latency_credit_ >= latency_sample_packets;
    if (timed) latency_credit_ = 0;
    send_direct_deserialized(binding, chunk, k, timed);
  } else if (k > 0) [[likely]] {
    batch_sizes_[k].add(1);
    latency_credit_ += k;
    const bool timed = latency_credit_ >= latency_sample_packets;
    if (timed) [[unlikely]] {
      latency_credit_ = 0;
      (void)stamp_now(now);
      // A poll step every 16 timed calls (about 16 x 32 packets), or 1 ms, whichever first.
      if (++timed_calls_ >= 16 || now >= direct_poll_at_) direct_poll_due_ = true;
    }
    const uint64_t submitted = now;
    miniport_.send_packets(miniport_context_, chunk, k);
    if constexpr (one_send) {
      // send (NdisSend): a packet the miniport refused (R10) is refused at once, not completed.
      Packet* p = chunk[0];
      if (p->oob.status == Status::invalid_packet &&
          p->tracking.state.load(std::memory_order_relaxed) == PacketState::in_miniport) [[unlikely]] {
        move_state(verifier, p, PacketState::protocol, std::memory_order_release);
        returned_alone(binding, 1);
        in_poll_ = false;
        return Status::invalid_packet;
      }
      submitted_direct_.add(1);
    }
    Packet* done[max_batch];
    const uint32_t finished = take_statuses<true>(chunk, k, done, PacketState::protocol, now);
    if (finished != 0) [[likely]] {  // return_successes for one binding and one submit time, in place
      completed_by_status_[status_index(Status::success)].add(finished);  // before the handler (R40)
      if (timed) latency_.record(read_cycles() - submitted, finished);
      binding.protocol_.send_complete(binding.context_, done, finished);  // no lock held (R9)
      returned_alone(binding, finished);
    }
    if (finished_count_ != 0) [[unlikely]] deliver_finished();  // send_complete inside the call (R8)
  }
  // Entries skipped as not the protocol's were not taken: give back their share of the count.
  if (accepted != n) [[unlikely]] returned_alone(binding, n - accepted);
  in_poll_ = false;
  return Status::pending;
}

// --- send, send_packets ---------------------------------------------------------------------

// Both entry points start on a cache line: where they fall otherwise moves with every change
// to this file, and the speed of a one-packet call with it.
__attribute__((aligned(64))) Status send(Binding* binding, Packet* packet) noexcept {
  return binding != nullptr ? binding->adapter_.accept_one(*binding, packet) : Status::failure;
}

__attribute__((aligned(64))) void send_packets(Binding* binding, Packet* const* packets, uint32_t n) noexcept {
  if (n == 0 || packets == nullptr || binding == nullptr) [[unlikely]] return;  // R3
  binding->adapter_.accept_array(*binding, packets, n);
}

// Inline into send, as accept_array into send_packets.
__attribute__((always_inline)) inline Status Adapter::accept_one(Binding& binding, Packet* packet) noexcept {
  const bool here = config_.run_to_completion;
  const WorkerRole role(*this, here);  // run-to-completion: this thread sends as the worker
  if (!role) [[unlikely]] {
    count_violation(&Violations::concurrent_use);
    reject_entry(packet);
    rejected_sync_.fetch_add(1, std::memory_order_relaxed);
    return Status::failure;
  }
  if (!take_ownership(packet)) {
    reject_entry(packet);
    rejected_sync_.fetch_add(1, std::memory_order_relaxed);
    return Status::failure;
  }
  const bool direct = direct_open(binding, 1);  // admit_state's success included
  if (direct && miniport_answers_r10_) [[likely]] {
    // The direct path, as send_packets of one takes it, with the packet checked once: by the
    // miniport, whose refusal comes back as send's answer (R10).
    const Status s = send_direct<true>(binding, &packet, 1);
    if (s != Status::pending) [[unlikely]] {
      rejected_sync_.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
    poll_after_direct();
    return Status::pending;  // completed inside the call already, or later: exactly once (R1, R8)
  }
  Status s = direct ? Status::success : admit_state(binding);
  if (s == Status::success) s = admit_packet(packet);
  if (s != Status::success) [[unlikely]] {
    rejected_sync_.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  if (direct) {  // the direct path, checked here for a miniport that does not check (R10)
    send_direct<false>(binding, &packet, 1);
    poll_after_direct();
    return Status::pending;
  }
  stamp(packet, &binding, this, read_cycles());
  move_state(packet, PacketState::queued, std::memory_order_relaxed);
  binding.add_outstanding(1);
  submitted_.fetch_add(1, std::memory_order_relaxed);
  if (here) {
    enqueue_here(packet);
    if (!in_poll_) poll();
  } else {
    submissions_.push(&packet, 1);
  }
  return Status::pending;
}

// Inline into send_packets: one call level less for every array.
__attribute__((always_inline)) inline void Adapter::accept_array(Binding& binding, Packet* const* packets,
                                                                 uint32_t n) noexcept {
  const bool here = config_.run_to_completion;
  const WorkerRole role(*this, here);  // run-to-completion: this thread sends as the worker
  if (!role) [[unlikely]] {  // another thread is inside this run-to-completion adapter
    count_violation(&Violations::concurrent_use);
    for (uint32_t i = 0; i < n; ++i) reject_entry(packets[i]);
    return;
  }
  // Run-to-completion with nothing queued: an array that fits one miniport call goes to the
  // miniport directly. A longer one is claimed whole (accept_queued) before any of it is
  // sent, so an entry repeated in a later chunk still finds its packet the framework's,
  // however early the first one completes (R40: exactly once).
  if (direct_open(binding, n)) [[likely]] {
    send_direct<false>(binding, packets, n);
    poll_after_direct();  // reap, link, timeouts
    return;
  }
  accept_queued(binding, packets, n, admit_state(binding));
}

void Adapter::accept_queued(Binding& binding, Packet* const* packets, uint32_t n, Status state) noexcept {
  const bool here = config_.run_to_completion;
  const uint64_t now = read_cycles();
  // Every entry is claimed before any is handed over: the worker may complete a packet of
  // this call while the rest are still being looked at, and an entry repeated later must find
  // it still the framework's. Up to 64 are kept in `run`; a longer array is linked through
  // tracking.next as it is claimed and handed over in runs afterwards.
  Packet* run[64];
  const bool chained = !here && n > std::size(run);
  Packet* chain_head = nullptr;
  Packet* chain_tail = nullptr;
  uint32_t accepted = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Packet* p = packets[i];
    if (!take_ownership(p)) [[unlikely]] {  // null, in flight, freed, or twice in this array
      reject_entry(p);
      continue;
    }
    const Status s = state == Status::success ? admit_packet(p) : state;
    stamp(p, &binding, this, now);
    if (s == Status::success) [[likely]] {
      move_state(p, PacketState::queued, std::memory_order_relaxed);
    } else {
      // Fails now, completes through the worker like every other packet (R2).
      p->tracking.final_status = s;
      move_state(p, PacketState::completing, std::memory_order_relaxed);
    }
    if (here) {  // run-to-completion: straight into the worker's queue, no ring hop
      enqueue_here(p);
    } else if (!chained) {
      run[accepted] = p;
    } else {
      p->tracking.next.store(nullptr, std::memory_order_relaxed);
      if (chain_tail != nullptr) chain_tail->tracking.next.store(p, std::memory_order_relaxed);
      else chain_head = p;
      chain_tail = p;
    }
    ++accepted;
  }
  if (accepted == 0) {
    if (here) poll_after_direct();  // reap, link, timeouts
    return;
  }
  // Counted before the packets can complete, so in_flight never goes below zero.
  binding.add_outstanding(accepted);
  submitted_.fetch_add(accepted, std::memory_order_relaxed);
  if (here) {
    if (!in_poll_) poll();
  } else if (!chained) {
    submissions_.push(run, accepted);
  } else {
    uint32_t k = 0;
    for (Packet* p = chain_head; p != nullptr;) {
      Packet* next = p->tracking.next.load(std::memory_order_relaxed);  // before p is handed over
      run[k++] = p;
      if (k == std::size(run) || next == nullptr) {
        submissions_.push(run, k);
        k = 0;
      }
      p = next;
    }
  }
}

Status Adapter::admit_state(const Binding& binding) const noexcept {
  if (binding.closing_.load(std::memory_order_relaxed) || halting_.load(std::memory_order_relaxed))
    return Status::closing;  // R11
  if (resetting_.load(std::memory_order_relaxed)) return Status::reset_in_progress;  // R12
  if (media_state_.load(std::memory_order_relaxed) != MediaState::connected)
    return Status::no_cable;  // R30
  return Status::success;
}

Status Adapter::admit_packet(Packet* p) const noexcept {
  PacketCounts counts;
  if (p->query(counts) != Status::success || counts.first_buffer == nullptr ||
      counts.total_length == 0 || counts.total_length > max_total_size_ || !p->ieee8021q.is_valid() ||
      !p->buffers_map_memory())
    return Status::invalid_packet;  // R10
  return Status::success;
}

void Adapter::enqueue_here(Packet* p) noexcept {
  if (p->tracking.state.load(std::memory_order_relaxed) == PacketState::completing)
    completed_.push_back(p);
  else
    queue_.push_back(p);
}

void Adapter::send_direct_deserialized(Binding& binding, Packet* const* chunk, uint32_t k, bool timed) noexcept {
  // A deserialized miniport completes packets through send_complete, inside the call or
  // later. While it completes the array's entries in order with success (the common call),
  // send_complete_packets only moves their state (direct_next_). As on the serialized
  // direct path, only a timed call's packets are timed, and submit times are written only
  // into packets that did not come straight back.
  if (finished_count_ != 0) deliver_finished();  // so that finished_ holds this call's alone
  uint64_t now = 0;
  if (timed) {
    now = read_cycles();
    if (++timed_calls_ >= 16 || now >= direct_poll_at_) direct_poll_due_ = true;
  }
  direct_chunk_ = chunk;
  direct_next_ = verifier_ == nullptr ? chunk : nullptr;  // with the verifier, each is checked
  direct_end_ = chunk + k;
  miniport_.send_packets(miniport_context_, chunk, k);
  const bool all_in_order = direct_next_ == direct_end_;
  if (!all_in_order && direct_next_ != nullptr) leave_direct_order();  // the rest pend
  direct_chunk_ = direct_next_ = direct_end_ = nullptr;
  if (all_in_order) [[likely]] {
    // Every packet came back with success inside the call, in order: one binding's, with one
    // submit time. The miniport may have written their statuses after completing them (R8),
    // so success is written now.
    Packet* done[max_batch];  // the caller's array stays the caller's while handlers run
    for (uint32_t i = 0; i < k; ++i) {
      Packet* p = chunk[i];
      p->oob.status = Status::success;
      done[i] = p;
    }
    std::atomic_thread_fence(std::memory_order_release);  // the protocol sees our writes
    // return_successes for one binding and one submit time, in place (as send_direct)
    completed_by_status_[status_index(Status::success)].add(k);  // before the handler (R40)
    if (timed) latency_.record(read_cycles() - now, k);
    binding.protocol_.send_complete(binding.context_, done, k);  // no lock held (R9)
    returned_alone(binding, k);
    return;
  }
  // Some pend, failed or came back out of order: each gets this call's submit time (the
  // pending for the hang check, R23; the completed for their latency), then the general way.
  const uint64_t submitted = timed ? now : read_cycles();
  for (uint32_t i = 0; i < k; ++i) chunk[i]->tracking.submit_cycles = submitted;
  after_deserialized_call(chunk, k);
  deliver_finished(timed, submitted, &binding);
}

inline void Adapter::claim_for_miniport(Verifier* verifier, Packet* p, Binding& binding) noexcept {
  // Stores are what a send is bound by: binding and adapter are written only when they
  // change (a generator resends the same packets), the submit time only for packets that
  // do not complete before send_packets returns (take_statuses<true>).
  if (p->tracking.binding != &binding) p->tracking.binding = &binding;
  if (p->tracking.adapter != this) p->tracking.adapter = this;
  move_state(verifier, p, PacketState::in_miniport, std::memory_order_relaxed);
  p->oob.status = status_unset;
}

Adapter::SortedEntries Adapter::sort_entries(Binding& binding, Packet* const* packets, uint32_t good, uint32_t n,
                                             Packet** chunk) noexcept {
  // The rare direct call with an entry that is not the protocol's (refused, R40) or not valid
  // (fails now through the completed list, R10): the `good` leading entries, claimed already,
  // and every other valid one go to the miniport in `chunk`; returns how many.
  Verifier* const verifier = verifier_.get();
  std::copy_n(packets, good, chunk);
  uint32_t k = good, accepted = good;
  uint64_t now = 0;
  for (uint32_t i = good; i < n; ++i) {
    Packet* p = packets[i];
    if (!take_ownership(p)) {
      reject_entry(p);
      continue;
    }
    ++accepted;
    const Status s = miniport_.checks_packets ? Status::success : admit_packet(p);  // R10
    if (s != Status::success) {
      p->tracking.binding = &binding;
      p->tracking.adapter = this;
      p->tracking.submit_cycles = stamp_now(now);
      p->tracking.final_status = s;
      move_state(verifier, p, PacketState::completing, std::memory_order_relaxed);
      completed_.push_back(p);
      continue;
    }
    claim_for_miniport(verifier, p, binding);
    chunk[k++] = p;
  }
  return {k, accepted, now};
}

void Adapter::poll_after_direct() noexcept {
  // A poll step only if the direct send left something for one (completions to deliver,
  // packets pending), or the timed calls found one due (every 16 of them, or 1 ms after the
  // last): arrays do not each pay a whole step, and links, reaping and timeouts still run
  // while the caller sends.
  if (in_poll_) return;
  // One branch for the three: on most calls none holds.
  if (!static_cast<bool>(static_cast<unsigned>(!completed_.empty()) | static_cast<unsigned>(pending_head_ != nullptr) |
                         direct_poll_due_)) [[likely]]
    return;
  direct_poll_due_ = false;
  timed_calls_ = 0;
  direct_poll_at_ = read_cycles() + direct_poll_cycles_;
  poll();
}

// --- bindings and requests --------------------------------------------------------------------

Status Adapter::add_binding(const ProtocolCharacteristics& protocol, void* context, Binding*& out) {
  std::lock_guard lock(control_mutex_);
  if (halting_.load()) return Status::closing;
  for (uint32_t slot = 0; slot < max_bindings; ++slot) {
    if (bindings_[slot].load(std::memory_order_relaxed) != nullptr) continue;
    all_bindings_.push_back(std::make_unique<Binding>(*this, protocol, context, slot, config_.run_to_completion));
    out = all_bindings_.back().get();
    bindings_[slot].store(out, std::memory_order_release);  // pairs with indicate_all
    return Status::success;
  }
  return Status::failure;  // max_bindings open at once
}

Result<Binding*> open_adapter(Adapter& adapter, const ProtocolCharacteristics& protocol, void* binding_context) {
  if (protocol.send_complete == nullptr) return failure_of(Status::failure, "the protocol has no send_complete handler");
  Binding* out = nullptr;
  const Status s = adapter.add_binding(protocol, binding_context, out);
  if (s == Status::closing) return failure_of(s, "the adapter is halted");
  if (s != Status::success)
    return failure_of(s, std::to_string(max_bindings) + " bindings are open on the adapter already");
  return out;
}

Status close_adapter(Binding* binding) {
  if (binding == nullptr) return Status::failure;
  // Sequentially consistent with the worker's last decrement of outstanding_ (returned()):
  // either this sees it at zero, or the worker sees closing_ set, so the slot is given back.
  binding->closing_.store(true);
  Adapter& a = binding->adapter_;
  if (binding->outstanding_.load() == 0) {
    a.release_slot(*binding);
    return Status::success;
  }
  // Inside a handler, waiting would deadlock: the binding closes as its packets complete.
  // in_poll_ is the worker's own flag: only the worker may read it (checked first).
  if (a.on_worker() && a.in_poll_) return Status::pending;
  const bool poll_here = a.config_.run_to_completion || !a.worker_running_.load();
  while (binding->outstanding_.load(std::memory_order_acquire) != 0) {
    // A poll step only while no other thread is in the worker's role: the owner of a
    // run-to-completion adapter may still be sending, and completes the packets itself.
    if (!poll_here || a.poll_in_role(false) == 0) std::this_thread::yield();
  }
  a.release_slot(*binding);
  return Status::success;
}

Status query_information(Binding* binding, Oid oid, void* buffer, uint32_t length,
                         uint32_t* bytes_written, uint32_t* bytes_needed) {
  if (binding == nullptr || bytes_written == nullptr || bytes_needed == nullptr)
    return Status::failure;
  return binding->adapter_.query(oid, buffer, length, bytes_written, bytes_needed);
}

Adapter* binding_adapter(const Binding* binding) noexcept {
  return binding ? &binding->adapter_ : nullptr;
}

uint64_t binding_outstanding(const Binding* binding) noexcept {
  return binding ? binding->outstanding_.load(std::memory_order_acquire) : 0;
}

}  // namespace pkio
