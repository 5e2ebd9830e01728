/// @file
/// Buffer: a buffer descriptor mapping one range of protocol memory.
#pragma once

#include <cstdint>

namespace pkio {

class BufferPool;

/// True if `length` bytes at `address` are a range a device could read: empty, or not at
/// address 0 and not running past the end of the address space.
[[nodiscard]] inline bool maps_memory(const void* address, uint64_t length) noexcept {
  const auto first = reinterpret_cast<uintptr_t>(address);
  return length == 0 || (first != 0 && first + length > first);
}

/// NDIS 5.1: NDIS_BUFFER (an MDL), allocated with NdisAllocateBuffer.
///
/// Maps `length` bytes at `address` in the protocol's memory. Buffers are linked into a
/// packet's chain through `next` (NdisGetNextBuffer); change chains only through the Packet
/// chain functions, which keep the packet's cached counts and tail right.
///
/// For a real NIC the memory must be DMA-able: DPDK memory (rte_malloc, a mempool) or memory
/// registered with rte_extmem_register. `iova` may carry its IO address; 0 means "ask DPDK"
/// (rte_mem_virt2iova), which is right for the virtual devices and for DPDK memory.
struct Buffer {
  void* address = nullptr;   ///< NdisQueryBuffer's VirtualAddress
  uint32_t length = 0;       ///< NdisQueryBuffer's Length, in bytes
  Buffer* next = nullptr;    ///< next buffer in the chain, or null at the end
  uint64_t iova = 0;         ///< IO address of `address`, or 0 if unknown

  /// True if the descriptor maps memory a device could read (see pkio::maps_memory). A
  /// packet with a buffer that does not is invalid_packet (contract R10).
  [[nodiscard]] bool maps_memory() const noexcept { return pkio::maps_memory(address, length); }

  /// The pool this descriptor came from (null for a descriptor the caller owns itself).
  [[nodiscard]] BufferPool* pool() const noexcept { return pool_; }

 private:
  friend class BufferPool;
  BufferPool* pool_ = nullptr;
};

}  // namespace pkio
