// Counters: the snapshot counters() gives any thread, violations (counted always, kept as
// events by the verifier), batch sizes.
#include <pkio/adapter.h>

#include "dispatcher/verifier.h"

namespace pkio {

void Adapter::count_violation(uint64_t Violations::*which, const Packet* packet) noexcept {
  static const Violations layout{};
  const auto index = static_cast<std::size_t>(
      reinterpret_cast<const char*>(&(layout.*which)) - reinterpret_cast<const char*>(&layout)) /
      sizeof(uint64_t);
  violations_[index].fetch_add(1, std::memory_order_relaxed);
  if (verifier_ == nullptr) return;
  verifier_->note(violation_names[index], packet);
}

void Adapter::reject_entry(const Packet* p) noexcept {
  // Cold path: a null entry, a freed packet, or one still in flight (sent twice).
  const PacketState s = p != nullptr ? p->tracking.state.load(std::memory_order_relaxed) : PacketState::free;
  if (s != PacketState::free && s != PacketState::protocol)
    count_violation(&Violations::resubmitted_in_flight, p);
  count_violation(&Violations::rejected_entries, p);
}

VerifierReport Adapter::verifier_report() const {
  return verifier_ != nullptr ? verifier_->report() : VerifierReport{};
}

AdapterCounters Adapter::counters() const noexcept {
  AdapterCounters c;
  uint64_t completed = 0;
  for (unsigned i = 0; i < status_count; ++i) {
    c.completed_by_status[i] = completed_by_status_[i].get();
    completed += c.completed_by_status[i];
  }
  c.completed_ok = c.completed_by_status[status_index(Status::success)];
  c.completed_error = completed - c.completed_ok;
  // Read after the completions: each packet is counted as submitted before it can complete.
  c.submitted = submitted_.load(std::memory_order_acquire) + submitted_direct_.get();
  c.rejected_sync = rejected_sync_.load(std::memory_order_relaxed);
  c.in_flight = c.submitted > completed ? c.submitted - completed : 0;
  for (uint32_t k = 1; k <= max_send_; ++k) {
    const uint64_t calls = batch_sizes_[k].get();
    c.batches += calls;
    c.batch_packets += calls * k;
  }
  c.resources_events = resources_events_.get();
  c.requeued = requeued_.get();
  c.resets = resets_.get();
  auto* v = reinterpret_cast<uint64_t*>(&c.violations);
  for (std::size_t i = 0; i < violations_.size(); ++i)
    v[i] = violations_[i].load(std::memory_order_relaxed);
  return c;
}

std::vector<uint64_t> Adapter::batch_size_counts() const {
  std::vector<uint64_t> out(max_send_ + 1);
  for (uint32_t i = 0; i <= max_send_; ++i) out[i] = batch_sizes_[i].get();
  return out;
}

bool Adapter::idle() const noexcept {
  uint64_t completed = 0;
  for (const WorkerCounter& c : completed_by_status_) completed += c.get();
  // Read after the completions, as in counters().
  return submitted_.load(std::memory_order_acquire) + submitted_direct_.get() <= completed;
}

void Adapter::reset_statistics() noexcept {
  latency_.reset();
  for (uint32_t i = 0; i <= max_send_; ++i) batch_sizes_[i].value.store(0);
  resources_events_.value.store(0);
  requeued_.value.store(0);
}

}  // namespace pkio
