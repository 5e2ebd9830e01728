#include <pkio/packet.h>

#include <cstring>
#include <limits>

namespace pkio {

Buffer* Packet::walk(Buffer* chain, uint32_t& count, uint64_t& length) noexcept {
  // Floyd's cycle check: `slow` advances every second step, so a cycle makes `fast` meet it.
  count = 0;
  length = 0;
  Buffer* slow = chain;
  Buffer* last = nullptr;
  for (Buffer* b = chain; b != nullptr; b = b->next) {
    if (count == max_chain_length || !b->maps_memory()) return nullptr;
    ++count;
    length += b->length;
    last = b;
    if ((count & 1u) == 0) {
      slow = slow->next;
      if (slow == b->next && b->next != nullptr) return nullptr;  // cycle
    }
  }
  return last;
}

Status Packet::chain_at_front(Buffer* chain) noexcept {
  uint32_t count;
  uint64_t length;
  Buffer* chain_tail = walk(chain, count, length);
  if (chain_tail == nullptr) return Status::invalid_packet;
  chain_tail->next = head_;
  head_ = chain;
  if (tail_ == nullptr) tail_ = chain_tail;
  valid_counts_ = false;
  return Status::success;
}

Status Packet::chain_at_back(Buffer* chain) noexcept {
  uint32_t count;
  uint64_t length;
  Buffer* chain_tail = walk(chain, count, length);
  if (chain_tail == nullptr) return Status::invalid_packet;
  if (tail_ != nullptr)
    tail_->next = chain;
  else
    head_ = chain;
  tail_ = chain_tail;
  valid_counts_ = false;
  return Status::success;
}

Buffer* Packet::unchain_at_front() noexcept {
  Buffer* first = head_;
  if (first == nullptr) return nullptr;
  head_ = first->next;
  if (head_ == nullptr) tail_ = nullptr;
  first->next = nullptr;
  valid_counts_ = false;
  return first;
}

Buffer* Packet::unchain_at_back() noexcept {
  Buffer* last = tail_;
  if (last == nullptr) return nullptr;
  if (head_ == last) {
    head_ = tail_ = nullptr;
  } else {
    Buffer* before = head_;
    uint32_t steps = 0;
    while (before != nullptr && before->next != last) {
      if (++steps == max_chain_length) return nullptr;  // corrupt chain: leave it as it is
      before = before->next;
    }
    if (before == nullptr) return nullptr;
    before->next = nullptr;
    tail_ = before;
  }
  valid_counts_ = false;
  return last;
}

Status Packet::recount(PacketCounts& out) noexcept {
  uint32_t count = 0;
  uint64_t length = 0;
  if (head_ != nullptr && walk(head_, count, length) == nullptr) return Status::invalid_packet;
  if (length > std::numeric_limits<uint32_t>::max()) return Status::invalid_packet;
  buffer_count_ = count;
  total_length_ = static_cast<uint32_t>(length);
  valid_counts_ = true;
  out.buffer_count = buffer_count_;
  out.total_length = total_length_;
  out.first_buffer = head_;
  return Status::success;
}

bool Packet::buffers_map_memory() const noexcept {
  uint32_t steps = 0;
  for (const Buffer* b = head_; b != nullptr; b = b->next)
    if (++steps > max_chain_length || !b->maps_memory()) return false;
  return true;
}

uint32_t Packet::total_length() noexcept {
  PacketCounts counts;
  return query(counts) == Status::success ? counts.total_length : 0;
}

Buffer* Packet::reinitialize() noexcept {
  Buffer* chain = head_;
  head_ = tail_ = nullptr;
  valid_counts_ = false;
  return chain;
}

void Packet::reset_fresh() noexcept {
  head_ = tail_ = nullptr;
  buffer_count_ = 0;
  total_length_ = 0;
  valid_counts_ = true;
  flags = 0;
  oob = PacketOob{};
  ieee8021q = Ieee8021qInfo{};
  std::memset(miniport_reserved_, 0, sizeof miniport_reserved_);
  tracking.binding = nullptr;
  tracking.adapter = nullptr;
  tracking.submit_cycles = 0;
  tracking.next.store(nullptr, std::memory_order_relaxed);
  tracking.remote_claim.store(false, std::memory_order_relaxed);
  tracking.final_status = Status::success;
}

}  // namespace pkio
