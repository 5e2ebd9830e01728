// Completion and delivery: completing a packet, and the one way packets go back to their
// bindings (call_handlers). The reading of a serialized miniport's statuses is statuses.h.
#include <pkio/adapter.h>

#include <algorithm>

#include <pkio/cycles.h>

#include "dispatcher/binding.h"
#include "dispatcher/packet_state.h"
#include "dispatcher/statuses.h"
#include "dispatcher/worker_role.h"

namespace pkio {


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
  uint32_t total = finished_count_;
  deliver_finished();  // successes a miniport's poll gathered (complete_from_worker)
  if (completed_.empty()) return total;
  LatencyRuns latency(latency_, read_cycles());
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

void Adapter::deliver_finished(bool record_latency, uint64_t submitted_at, Binding* only) noexcept {
  const uint32_t n = finished_count_;
  if (n == 0) return;
  // Taken out first, so that nothing a handler sets off can change what is being delivered.
  Packet* done[max_batch];
  std::copy_n(finished_.data(), n, done);
  finished_count_ = 0;
  Verifier* const verifier = verifier_.get();  // read once (see move_state)
  bool shared_time = submitted_at != 0, one_binding = only != nullptr;
  const bool write_status = finished_by_complete_;
  finished_by_complete_ = false;
  for (uint32_t i = 0; i < n; ++i) {  // release: see take_statuses
    Packet* p = done[i];
    if (write_status) p->oob.status = Status::success;
    shared_time &= p->tracking.submit_cycles == submitted_at;
    one_binding &= p->tracking.binding == only;
    move_state(verifier, p, PacketState::protocol, std::memory_order_release);
  }
  return_successes(done, n, shared_time ? submitted_at : 0, one_binding ? only : nullptr, record_latency);
}

void Adapter::return_successes(Packet* const* done, uint32_t n, uint64_t submitted_at, Binding* only,
                               bool record_latency) noexcept {
  // Counted before any handler sees them (R40). `submitted_at`: every packet was submitted
  // then (one send_packets call), so one latency record covers them (none if not
  // `record_latency`: an untimed direct call); 0: each packet's own submit time; `only`: all
  // belong to that binding, so one handler call does.
  completed_by_status_[status_index(Status::success)].add(n);
  if (submitted_at == 0 && record_latency) {
    call_handlers<true>(done, n);
    return;
  }
  if (record_latency) latency_.record(read_cycles() - submitted_at, n);
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

void Adapter::release_slot(Binding& binding) noexcept {
  if (binding.slot_released_.exchange(true)) return;  // close_adapter and the worker may both try
  Binding* expected = &binding;
  bindings_[binding.slot_].compare_exchange_strong(expected, nullptr);
}

}  // namespace pkio
