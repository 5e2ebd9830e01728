/// @file
/// BufferPool: a fixed set of buffer descriptors created up front.
///
/// Threading: allocate() and free() may be called from any number of threads at once
/// (lock-free MpmcRing of indices, atomic double-free check). Only create() allocates memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <pkio/buffer.h>
#include <pkio/detail/mpmc_ring.h>
#include <pkio/result.h>
#include <pkio/status.h>

namespace pkio {

/// NDIS 5.1: a buffer pool (NdisAllocateBufferPool / NdisFreeBufferPool).
class BufferPool {
 public:
  /// Most descriptors one pool holds.
  static constexpr uint32_t max_count = 1u << 24;

  /// NDIS 5.1: NdisAllocateBufferPool. A pool of `count` buffer descriptors; invalid_data for
  /// a count of 0 or above max_count.
  [[nodiscard]] static Result<std::unique_ptr<BufferPool>> create(uint32_t count);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  /// NDIS 5.1: NdisAllocateBuffer. A descriptor mapping `length` bytes at `address`.
  /// success; invalid_data (and no descriptor taken) if the range maps no memory: a null
  /// address with a length, or a range past the end of the address space; failure if the
  /// pool is empty: never resources (contract R35).
  [[nodiscard]] Status allocate(Buffer*& out, void* address, uint32_t length) noexcept;
  /// NDIS 5.1: NdisFreeBuffer. success; failure for a foreign or already free descriptor.
  Status free(Buffer* buffer) noexcept;

  /// Descriptors in the pool when all are free.
  [[nodiscard]] uint32_t capacity() const noexcept { return count_; }
  /// Descriptors free now (exact when no thread is allocating or freeing).
  [[nodiscard]] uint32_t available() const noexcept {
    return static_cast<uint32_t>(free_list_.size_approx());
  }
  /// Frees refused so far (double or foreign descriptors).
  [[nodiscard]] uint64_t bad_frees() const noexcept {
    return bad_frees_.load(std::memory_order_relaxed);
  }

 private:
  explicit BufferPool(uint32_t count);

  uint32_t count_;
  std::unique_ptr<Buffer[]> buffers_;
  std::unique_ptr<std::atomic<bool>[]> allocated_;
  MpmcRing<uint32_t> free_list_;
  std::atomic<uint64_t> bad_frees_{0};
};

}  // namespace pkio
