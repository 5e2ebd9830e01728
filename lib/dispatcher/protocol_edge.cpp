// The protocol edge (protocol.h): send and send_packets, bindings, requests. Every entry of
// a call is claimed (taken from its protocol) before any of it can reach the miniport, so an
// entry repeated in the same call finds its packet the framework's and is refused (R40).
#include <pkio/adapter.h>

#include <algorithm>
#include <iterator>

#include <pkio/cycles.h>

#include "dispatcher/binding.h"
#include "dispatcher/packet_state.h"
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

// --- send, send_packets ---------------------------------------------------------------------

Status send(Binding* binding, Packet* packet) noexcept {
  return binding != nullptr ? binding->adapter_.accept_one(*binding, packet) : Status::failure;
}

void send_packets(Binding* binding, Packet* const* packets, uint32_t n) noexcept {
  if (binding == nullptr || packets == nullptr || n == 0) return;  // R3
  binding->adapter_.accept_array(*binding, packets, n);
}

Status Adapter::accept_one(Binding& binding, Packet* packet) noexcept {
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
  Status s = admit_state(binding);
  if (s == Status::success) s = admit_packet(packet);
  if (s != Status::success) {
    rejected_sync_.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  stamp(packet, &binding, this, read_cycles());
  move_state(packet, PacketState::queued, std::memory_order_relaxed);
  binding.outstanding_.fetch_add(1, std::memory_order_acq_rel);
  submitted_.fetch_add(1, std::memory_order_relaxed);
  if (here) {
    enqueue_here(packet);
    if (!in_poll_) poll();
  } else {
    submissions_.push(&packet, 1);
  }
  return Status::pending;
}

void Adapter::accept_array(Binding& binding, Packet* const* packets, uint32_t n) noexcept {
  const bool here = config_.run_to_completion;
  const WorkerRole role(*this, here);  // run-to-completion: this thread sends as the worker
  if (!role) [[unlikely]] {  // another thread is inside this run-to-completion adapter
    count_violation(&Violations::concurrent_use);
    for (uint32_t i = 0; i < n; ++i) reject_entry(packets[i]);
    return;
  }
  const uint64_t now = read_cycles();
  const Status state = admit_state(binding);  // once per call, not per packet
  // Run-to-completion with nothing queued: an array that fits one miniport call goes to the
  // miniport directly. A longer one is claimed whole below before any of it is sent, so an
  // entry repeated in a later chunk still finds its packet the framework's, however early
  // the first one completes (R40: exactly once).
  if (here && state == Status::success && n <= max_send_ && direct_ready()) {
    send_direct(binding, packets, n, now);
    poll_after_direct(now);  // reap, link, timeouts
    return;
  }
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
    if (here) poll_after_direct(now);  // reap, link, timeouts
    return;
  }
  // Counted before the packets can complete, so in_flight never goes below zero.
  binding.outstanding_.fetch_add(accepted, std::memory_order_acq_rel);
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

bool Adapter::direct_ready() const noexcept {
  // Anything queued (requeued after `resources`, or sent from a handler) goes first (R6);
  // a poll step in progress, a control request or a link change is left to poll().
  return !in_poll_ && queue_.empty() && !blocked_on_resources_ && miniport_.send_packets != nullptr &&
         !miniport_.deserialized && indicated_media_ == MediaState::connected &&
         mailbox_.load(std::memory_order_relaxed) == nullptr;
}

void Adapter::send_direct(Binding& binding, Packet* const* packets, uint32_t n, uint64_t now) noexcept {
  // The queued path, fused for a run-to-completion caller with an array that fits one
  // miniport call: each entry is claimed and checked, the array goes to the miniport, and its
  // successes go back at once, counted and timed per call rather than per packet. Packets the
  // miniport leaves pending join the pending list; at `resources` the rest is requeued (R16).
  in_poll_ = true;
  WorkerScope scope(this);
  binding.outstanding_.fetch_add(n, std::memory_order_acq_rel);  // before any can complete
  Verifier* const verifier = verifier_.get();  // read once (see move_state)
  Packet* chunk_store[max_batch];
  // While every entry goes to the miniport, the array handed over is the caller's itself
  // (`contiguous`): no copy. The first entry left out switches to chunk_store.
  bool contiguous = true;
  uint32_t k = 0, accepted = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Packet* p = packets[i];
    const bool taken = take_ownership(p);
    const Status s = !taken                     ? Status::failure
                     : miniport_.checks_packets ? Status::success
                                                : admit_packet(p);  // R10
    if (s != Status::success && contiguous) [[unlikely]] {
      contiguous = false;
      std::copy_n(packets, k, chunk_store);
    }
    if (!taken) [[unlikely]] {
      reject_entry(p);
      continue;
    }
    // Stores are what a send is bound by: binding and adapter are written only when they
    // change (a generator resends the same packets), the submit time only for packets that
    // do not complete before send_packets returns (take_statuses<true>).
    if (p->tracking.binding != &binding) p->tracking.binding = &binding;
    if (p->tracking.adapter != this) p->tracking.adapter = this;
    ++accepted;
    if (s != Status::success) [[unlikely]] {
      p->tracking.submit_cycles = now;
      p->tracking.final_status = s;
      move_state(verifier, p, PacketState::completing, std::memory_order_relaxed);
      completed_.push_back(p);
      continue;
    }
    move_state(verifier, p, PacketState::in_miniport, std::memory_order_relaxed);
    p->oob.status = status_unset;
    if (!contiguous) chunk_store[k] = p;
    ++k;
  }
  // Counted before any of it can complete, so that a live reader of the counters never sees
  // more completed than submitted.
  submitted_direct_.add(accepted);
  if (k > 0) {
    Packet* const* chunk = contiguous ? packets : chunk_store;
    batches_.add(1);
    batch_packets_.add(k);
    batch_sizes_[k].add(1);
    miniport_.send_packets(miniport_context_, chunk, k);
    Packet* done[max_batch];
    const uint32_t finished = take_statuses<true>(chunk, k, done, PacketState::protocol, now);
    if (finished != 0) return_successes(done, finished, now, &binding);
  }
  // Entries skipped as not the protocol's were not taken: give back their share of the count.
  if (accepted != n) returned(binding, n - accepted);
  in_poll_ = false;
}

void Adapter::poll_after_direct(uint64_t now) noexcept {
  // A poll step only if the direct send left something for one (completions to deliver,
  // packets pending) or 10 us have passed since the last, so that arrays do not each pay a
  // whole step; links, reaping and timeouts still run at least every 10 us while the caller
  // sends, and at every call while a packet is pending.
  if (in_poll_) return;
  if (completed_.empty() && pending_head_ == nullptr && now < direct_poll_at_) return;
  direct_poll_at_ = now + direct_poll_cycles_;
  poll();
}

// --- bindings and requests --------------------------------------------------------------------

Status Adapter::add_binding(const ProtocolCharacteristics& protocol, void* context, Binding*& out) {
  std::lock_guard lock(control_mutex_);
  if (halting_.load()) return Status::closing;
  for (uint32_t slot = 0; slot < max_bindings; ++slot) {
    if (bindings_[slot].load(std::memory_order_relaxed) != nullptr) continue;
    all_bindings_.push_back(std::make_unique<Binding>(*this, protocol, context, slot));
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
