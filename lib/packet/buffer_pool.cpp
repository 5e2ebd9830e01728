#include <pkio/buffer_pool.h>

#include <string>

namespace pkio {

Result<std::unique_ptr<BufferPool>> BufferPool::create(uint32_t count) {
  if (count == 0 || count > max_count)
    return failure_of(Status::invalid_data, "a buffer pool holds 1 to " + std::to_string(max_count) +
                                                " descriptors, not " + std::to_string(count));
  return std::unique_ptr<BufferPool>(new BufferPool(count));
}

BufferPool::BufferPool(uint32_t count)
    : count_(count),
      buffers_(std::make_unique<Buffer[]>(count)),
      allocated_(std::make_unique<std::atomic<bool>[]>(count)),
      free_list_(count) {
  for (uint32_t i = 0; i < count; ++i) {
    buffers_[i].pool_ = this;
    free_list_.try_push(i);
  }
}

BufferPool::~BufferPool() = default;

Status BufferPool::allocate(Buffer*& out, void* address, uint32_t length) noexcept {
  out = nullptr;
  if (!maps_memory(address, length)) return Status::invalid_data;  // refused where it is made
  uint32_t index;
  if (!free_list_.try_pop(index))
    return Status::failure;  // NdisAllocateBuffer reports an empty pool as failure (R35)
  allocated_[index].store(true, std::memory_order_release);  // pairs with free()'s exchange
  Buffer& b = buffers_[index];
  b.address = address;
  b.length = length;
  b.next = nullptr;
  b.iova = 0;
  out = &b;
  return Status::success;
}

Status BufferPool::free(Buffer* buffer) noexcept {
  if (buffer == nullptr || buffer < &buffers_[0] || buffer >= &buffers_[0] + count_) {
    bad_frees_.fetch_add(1, std::memory_order_relaxed);
    return Status::failure;
  }
  const auto index = static_cast<uint32_t>(buffer - &buffers_[0]);
  if (!allocated_[index].exchange(false, std::memory_order_acq_rel)) {
    bad_frees_.fetch_add(1, std::memory_order_relaxed);
    return Status::failure;  // double free
  }
  buffer->next = nullptr;
  free_list_.push_known_room(index);  // the ring can hold every index
  return Status::success;
}

}  // namespace pkio
