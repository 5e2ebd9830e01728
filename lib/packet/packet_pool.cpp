#include <pkio/packet_pool.h>

#include <cstdlib>
#include <new>
#include <string>

namespace pkio {

namespace {
std::size_t round_up(std::size_t value, std::size_t align) {
  return (value + align - 1) / align * align;
}
}  // namespace

Result<std::unique_ptr<PacketPool>> PacketPool::create(uint32_t count, uint32_t protocol_reserved_size) {
  if (count == 0 || count > max_count)
    return failure_of(Status::invalid_data, "a packet pool holds 1 to " + std::to_string(max_count) +
                                                " packets, not " + std::to_string(count));
  if (protocol_reserved_size > max_protocol_reserved)
    return failure_of(Status::invalid_data, "ProtocolReserved is at most " + std::to_string(max_protocol_reserved) +
                                                " bytes, not " + std::to_string(protocol_reserved_size));
  return std::unique_ptr<PacketPool>(new PacketPool(count, protocol_reserved_size));
}

PacketPool::PacketPool(uint32_t count, uint32_t protocol_reserved_size)
    : count_(count),
      // Each descriptor starts on its own cache line, its ProtocolReserved right behind it.
      stride_(round_up(sizeof(Packet) + protocol_reserved_size, cache_line_size)),
      free_list_(count) {
  storage_ = static_cast<std::byte*>(
      ::operator new(stride_ * count, std::align_val_t{cache_line_size}));
  for (uint32_t i = 0; i < count; ++i) {
    Packet* p = new (at(i)) Packet();
    p->pool_ = this;
    p->pool_index_ = i;
    p->protocol_reserved_size_ = protocol_reserved_size;
    free_list_.try_push(i);
  }
}

PacketPool::~PacketPool() {
  for (uint32_t i = 0; i < count_; ++i) at(i)->~Packet();
  ::operator delete(storage_, std::align_val_t{cache_line_size});
}

bool PacketPool::owns(const Packet* packet) const noexcept {
  const auto* bytes = reinterpret_cast<const std::byte*>(packet);
  if (bytes < storage_ || bytes >= storage_ + stride_ * count_) return false;
  return static_cast<std::size_t>(bytes - storage_) % stride_ == 0;
}

Status PacketPool::allocate(Packet*& out) noexcept {
  uint32_t index;
  if (!free_list_.try_pop(index)) {
    out = nullptr;
    return Status::resources;
  }
  Packet* p = at(index);
  p->reset_fresh();
  // Release pairs with the acquire exchange in free(): the packet is the protocol's now.
  p->tracking.state.store(PacketState::protocol, std::memory_order_release);
  out = p;
  return Status::success;
}

Status PacketPool::free(Packet* packet) noexcept {
  if (packet == nullptr || !owns(packet)) {
    bad_frees_.fetch_add(1, std::memory_order_relaxed);
    return Status::failure;
  }
  // Only a packet the protocol owns may go back; the CAS makes two racing frees see one win.
  PacketState expected = PacketState::protocol;
  if (!packet->tracking.state.compare_exchange_strong(expected, PacketState::free,
                                                      std::memory_order_acq_rel)) {
    bad_frees_.fetch_add(1, std::memory_order_relaxed);
    return Status::failure;
  }
  free_list_.push_known_room(packet->pool_index_);  // the ring can hold every index
  return Status::success;
}

}  // namespace pkio
