// The hot-path functions of the packet model (allocate, free, chain, query) never touch the
// heap: this binary counts every operator new and checks the count does not move.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>

namespace {
std::atomic<uint64_t> heap_allocations{0};
}

// The replacements below pair malloc with free on purpose; GCC cannot see that they replace
// the global operators and warns about a mismatch.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  heap_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace pkio {

TEST(NoHeap, CountingOperatorNewWorks) {
  const uint64_t before = heap_allocations.load();
  void* probe = ::operator new(16);  // an explicit call cannot be elided
  ::operator delete(probe);
  EXPECT_EQ(heap_allocations.load(), before + 1);  // the counter itself can see allocations
}

TEST(NoHeap, AllocateChainQueryUnchainFreeDoNotAllocate) {
  auto packets = PacketPool::create(16, 16).value();
  auto buffers = BufferPool::create(64).value();
  std::byte memory[64];
  const uint64_t before = heap_allocations.load();
  for (int round = 0; round < 1000; ++round) {
    Packet* p = nullptr;
    ASSERT_EQ(packets->allocate(p), Status::success);
    for (int i = 0; i < 3; ++i) {
      Buffer* b = nullptr;
      ASSERT_EQ(buffers->allocate(b, memory, 20), Status::success);
      ASSERT_EQ(i == 0 ? p->chain_at_front(b) : p->chain_at_back(b), Status::success);
    }
    PacketCounts counts;
    ASSERT_EQ(p->query(counts), Status::success);
    ASSERT_EQ(counts.total_length, 60u);
    while (Buffer* b = p->unchain_at_back()) ASSERT_EQ(buffers->free(b), Status::success);
    ASSERT_EQ(packets->free(p), Status::success);
  }
  EXPECT_EQ(heap_allocations.load(), before);
}

}  // namespace pkio
