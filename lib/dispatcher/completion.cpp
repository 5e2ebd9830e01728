// Completion and delivery: the one reading of a serialized miniport's statuses
// (take_statuses, for the run-to-completion path and the worker alike), completing a packet,
// and the one way packets go back to their bindings (call_handlers).
#include <pkio/adapter.h>

#include <algorithm>

#include <pkio/cycles.h>

#include "dispatcher/binding.h"
#include "dispatcher/packet_state.h"
#include "dispatcher/worker_role.h"

namespace pkio {

template <bool lazy_stamp>
uint32_t Adapter::take_statuses(Packet* const* batch, uint32_t n, Packet** done, PacketState finished_state,
                                uint64_t now) noexcept {
  // A serialized send_packets set a status on every packet before it returned (R16):
  // success -> `finished_state` and into `done`; pending -> the pending list (in hand-over
  // order, which R23's hang check relies on); resources -> this packet and every later one
  // still in the miniport go back to the head of the queue, in order, until the next
  // send_complete or send_resources_available (R16, R17); left unset -> a violation, failure;
  // anything else completes the packet with it (complete() checks it, R22). `lazy_stamp`:
  // the caller wrote no submit times (they cost a store a packet), so `now` is written into
  // every packet that does not come back here.
  Verifier* const verifier = verifier_.get();  // read once (see move_state)
  uint32_t finished = 0;
  for (uint32_t i = 0; i < n; ++i) {
    Packet* p = batch[i];
    const Status s = p->oob.status;
    if (p->tracking.state.load(std::memory_order_relaxed) != PacketState::in_miniport) {
      // Completed inside the call (R8): already on its way back. Only pending may go with
      // that; a final status as well would be a second completion.
      if constexpr (lazy_stamp) p->tracking.submit_cycles = now;
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
    if constexpr (lazy_stamp) p->tracking.submit_cycles = now;
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

template uint32_t Adapter::take_statuses<true>(Packet* const*, uint32_t, Packet**, PacketState, uint64_t) noexcept;
template uint32_t Adapter::take_statuses<false>(Packet* const*, uint32_t, Packet**, PacketState, uint64_t) noexcept;

void Adapter::complete(Packet* p, Status status) noexcept {
  if (!is_known(status) || !is_final_send_status(status)) {  // R22
    count_violation(&Violations::bad_final_status, p);
    status = Status::failure;
  }
  unlink_pending(p);
  p->tracking.final_status = status;
  move_state(p, PacketState::completing, std::memory_order_relaxed);
  completed_.push_back(p);
  blocked_on_resources_ = false;  // a send_complete also resumes requeued packets (R16)
}

uint32_t Adapter::deliver() noexcept {
  if (completed_.empty()) return 0;
  LatencyRuns latency(latency_, read_cycles());
  uint32_t total = 0;
  Packet* run[64];
  while (!completed_.empty()) {
    uint32_t n = 0;
    while (n < std::size(run) && !completed_.empty()) {
      Packet* p = completed_.pop_front();
      const Status s = p->tracking.final_status;
      p->oob.status = s;
      completed_by_status_[status_index(s)].add(1);
      latency.add(p->tracking.submit_cycles);
      // Release: the protocol (and any thread it passes the packet to) sees our writes.
      move_state(p, PacketState::protocol, std::memory_order_release);
      run[n++] = p;
    }
    latency.flush();  // counted before the protocol sees them (R40)
    total += n;
    call_handlers<false>(run, n);
  }
  return total;
}

void Adapter::deliver_finished() noexcept {
  const uint32_t n = finished_count_;
  if (n == 0) return;
  // Taken out first, so that nothing a handler sets off can change what is being delivered.
  Packet* done[max_batch];
  std::copy_n(finished_.data(), n, done);
  finished_count_ = 0;
  Verifier* const verifier = verifier_.get();  // read once (see move_state)
  for (uint32_t i = 0; i < n; ++i)  // release: see take_statuses
    move_state(verifier, done[i], PacketState::protocol, std::memory_order_release);
  return_successes(done, n, 0, nullptr);
}

void Adapter::return_successes(Packet* const* done, uint32_t n, uint64_t submitted_at, Binding* only) noexcept {
  // Counted before any handler sees them (R40). `submitted_at`: every packet was submitted
  // then (one send_packets call), so one latency record covers them; `only`: all belong to
  // that binding, so one handler call does.
  completed_by_status_[status_index(Status::success)].add(n);
  if (submitted_at == 0) {
    call_handlers<true>(done, n);
    return;
  }
  latency_.record(read_cycles() - submitted_at, n);
  if (only == nullptr) {
    call_handlers<false>(done, n);
    return;
  }
  only->protocol_.send_complete(only->context_, done, n);  // no lock held (R9)
  returned(*only, n);
}

template <bool record_latency>
void Adapter::call_handlers(Packet* const* done, uint32_t n) noexcept {
  // The one way packets go back: a run of consecutive packets of one binding becomes one
  // ProtocolSendComplete call, made with no lock held (R9); the binding's outstanding count
  // drops after the handler returns, so close_adapter never returns in the middle of one.
  // `record_latency`: each packet's submit-to-completion time is recorded on the way (one
  // record per run of equal submit times, LatencyRuns).
  const uint64_t now = record_latency ? read_cycles() : 0;
  LatencyRuns latency(latency_, now);
  for (uint32_t i = 0; i < n;) {
    auto* binding = static_cast<Binding*>(done[i]->tracking.binding);
    uint32_t j = i;
    for (; j < n && done[j]->tracking.binding == binding; ++j)
      if constexpr (record_latency) latency.add(done[j]->tracking.submit_cycles);
    if constexpr (record_latency) latency.flush();
    binding->protocol_.send_complete(binding->context_, done + i, j - i);
    returned(*binding, j - i);
    i = j;
  }
}

template void Adapter::call_handlers<true>(Packet* const*, uint32_t) noexcept;
template void Adapter::call_handlers<false>(Packet* const*, uint32_t) noexcept;

void Adapter::returned(Binding& binding, uint64_t n) noexcept {
  // The last packet of a closing binding frees its slot (close_adapter from inside a handler
  // answered pending); sequentially consistent with close_adapter's store and load.
  if (binding.outstanding_.fetch_sub(n) == n && binding.closing_.load()) [[unlikely]] release_slot(binding);
}

void Adapter::release_slot(Binding& binding) noexcept {
  if (binding.slot_released_.exchange(true)) return;  // close_adapter and the worker may both try
  Binding* expected = &binding;
  bindings_[binding.slot_].compare_exchange_strong(expected, nullptr);
}

}  // namespace pkio
