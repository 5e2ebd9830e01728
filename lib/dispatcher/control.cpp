// The control path: requests, resets and halt, run on the worker one at a time (R28), and
// what fails packets wholesale: no cable, reset, halt, hangs (R12, R23, R30); indications.
#include <pkio/adapter.h>

#include <thread>

#include <pkio/cycles.h>

#include "dispatcher/binding.h"
#include "dispatcher/packet_state.h"
#include "dispatcher/worker_role.h"

namespace pkio {

struct Adapter::ControlRequest {
  enum class Kind { query, reset, halt } kind;
  Oid oid{};
  void* buffer = nullptr;
  uint32_t length = 0;
  uint32_t* written = nullptr;
  uint32_t* needed = nullptr;
  Status result = Status::pending;
  std::atomic<bool> done{false};
};

void Adapter::take_control_request() noexcept {
  if (ControlRequest* request = mailbox_.load(std::memory_order_acquire)) {
    mailbox_.store(nullptr, std::memory_order_relaxed);
    run_control(*request);
  }
}

void Adapter::run_control(ControlRequest& request) noexcept {
  switch (request.kind) {
    case ControlRequest::Kind::query:
      request.result = do_query(request.oid, request.buffer, request.length, request.written,
                                request.needed);
      break;
    case ControlRequest::Kind::reset:
      request.result = do_reset();
      break;
    case ControlRequest::Kind::halt:
      do_halt();
      request.result = Status::success;
      break;
  }
  request.done.store(true, std::memory_order_release);  // pairs with run_on_worker's wait
}

Status Adapter::run_on_worker(ControlRequest& request) {
  std::lock_guard lock(control_mutex_);  // R28: one request at a time
  if (worker_running_.load() && !on_worker()) {
    mailbox_.store(&request, std::memory_order_release);  // pairs with poll()'s acquire
    while (!request.done.load(std::memory_order_acquire)) std::this_thread::yield();
    return request.result;
  }
  // We are the worker (run-to-completion, or inside a handler), or no worker runs: the
  // request runs here, in the worker's role. A halt waits for a thread still in it to leave
  // (sends meanwhile get closing); anything else is refused rather than raced.
  for (;;) {
    const WorkerRole role(*this);
    if (role) {
      const bool was_in_poll = in_poll_;
      in_poll_ = true;
      run_control(request);
      in_poll_ = was_in_poll;
      return request.result;
    }
    if (request.kind != ControlRequest::Kind::halt) {
      count_violation(&Violations::concurrent_use);
      return Status::failure;
    }
    std::this_thread::yield();
  }
}

Status Adapter::reset() {
  if (halting_.load()) return Status::closing;
  ControlRequest r{ControlRequest::Kind::reset};
  return run_on_worker(r);
}

void Adapter::halt() {
  if (halted_.load()) return;
  if (halting_.exchange(true)) {  // another thread is halting it: wait for that to finish
    while (!halted_.load()) std::this_thread::yield();
    return;
  }
  stop_worker();
  ControlRequest r{ControlRequest::Kind::halt};
  (void)run_on_worker(r);
  halted_.store(true, std::memory_order_release);
}

Status Adapter::query(Oid oid, void* buffer, uint32_t length, uint32_t* written, uint32_t* needed) {
  ControlRequest r{ControlRequest::Kind::query, oid, buffer, length, written, needed};
  return run_on_worker(r);
}

Status Adapter::do_query(Oid oid, void* buffer, uint32_t length, uint32_t* written,
                         uint32_t* needed) noexcept {
  const AdapterCounters c = counters();
  switch (oid) {
    case Oid::maximum_send_packets:
      return answer_query(&max_send_, sizeof max_send_, buffer, length, written, needed);
    case Oid::transmit_queue_length: {  // R27
      const auto value = static_cast<uint32_t>(c.in_flight);
      return answer_query(&value, sizeof value, buffer, length, written, needed);
    }
    case Oid::xmit_ok:
    case Oid::xmit_error: {  // R25: 8 bytes if there is room, else 4
      const uint64_t value = oid == Oid::xmit_ok ? c.completed_ok : c.completed_error;
      if (length >= 8 || length < 4)
        return answer_query(&value, 8, buffer, length, written, needed);
      const auto small = static_cast<uint32_t>(value);
      return answer_query(&small, 4, buffer, length, written, needed);
    }
    default:
      break;
  }
  *written = 0;
  *needed = 0;
  if (halted_.load(std::memory_order_relaxed)) return Status::adapter_removed;  // it may be gone
  if (miniport_.query_information == nullptr) return Status::not_supported;
  const Status s = miniport_.query_information(miniport_context_, oid, buffer, length, written, needed);
  if (*written > length) *written = length;  // R24: never more than the buffer
  return s;
}

Status Adapter::do_reset() noexcept {
  resetting_.store(true, std::memory_order_release);
  resets_.add(1);
  indicate_all(Indication::reset_start);
  fail_queued(Status::reset_in_progress);
  if (miniport_.reset != nullptr) (void)miniport_.reset(miniport_context_);
  drain_remote_completions();
  // R12: what the miniport did not complete during its reset completes now, exactly once.
  force_complete_pending(miniport_.deserialized ? Status::request_aborted
                                                : Status::reset_in_progress);
  deliver();
  resetting_.store(false, std::memory_order_release);
  indicate_all(Indication::reset_end);
  return Status::success;
}

void Adapter::do_halt() noexcept {
  fail_queued(Status::adapter_removed);
  if (miniport_.halt != nullptr) miniport_.halt(miniport_context_);
  drain_remote_completions();
  force_complete_pending(Status::request_aborted);
  deliver();
}

void Adapter::fail_queued(Status status) noexcept {
  drain_submissions();
  while (Packet* p = queue_.pop_front()) {
    // A packet R10 refuses fails as invalid_packet whichever way it went: one a checking
    // miniport never reached (requeued behind a `resources`) is checked here.
    p->tracking.final_status = admit_packet(p) == Status::success ? status : Status::invalid_packet;
    move_state(p, PacketState::completing, std::memory_order_relaxed);
    completed_.push_back(p);
  }
  blocked_on_resources_ = false;
}

void Adapter::force_complete_pending(Status status) noexcept {
  // complete() unlinks each; an invalid packet a deserialized miniport still held unchecked
  // fails as invalid_packet (R10), as in fail_queued.
  while (Packet* p = pending_head_)
    complete(p, admit_packet(p) == Status::success ? status : Status::invalid_packet);
}

void Adapter::check_timeouts() noexcept {
  // The pending list is in hand-over order, so its head is the oldest packet in the miniport;
  // a queue blocked on `resources` (a device that never takes anything) times out the same way.
  const uint64_t now = read_cycles();
  const bool pending_late =
      pending_head_ != nullptr && now - pending_head_->tracking.submit_cycles > timeout_cycles_;
  const bool queue_late = blocked_on_resources_ && !queue_.empty() &&
                          now - queue_.front()->tracking.submit_cycles > timeout_cycles_;
  if (!pending_late && !queue_late) return;
  count_violation(&Violations::hangs, pending_late ? pending_head_ : queue_.front());
  do_reset();  // R23: a hang goes through the reset path; nothing pends forever
}

void Adapter::deliver_indications() noexcept {
  const MediaState now = media_state_.load(std::memory_order_acquire);
  if (now == indicated_media_ || halting_.load(std::memory_order_relaxed)) return;
  indicated_media_ = now;  // R29: only real changes reach the bindings
  indicate_all(now == MediaState::connected ? Indication::media_connect
                                            : Indication::media_disconnect);
}

void Adapter::indicate_all(Indication indication) noexcept {
  for (auto& slot : bindings_) {
    Binding* b = slot.load(std::memory_order_acquire);  // pairs with add_binding
    if (b != nullptr && b->protocol_.status != nullptr && !b->closing_.load(std::memory_order_relaxed))
      b->protocol_.status(b->context_, indication);
  }
}

}  // namespace pkio
