// Packet and buffer pools under concurrent allocate/free from several threads.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>

namespace pkio {

TEST(PoolThreads, ConcurrentAllocateFreeNeverSharesADescriptorAndLosesNone) {
  constexpr uint32_t pool_size = 64, threads = 4, rounds = 100000;
  auto pool = PacketPool::create(pool_size, 8).value();
  std::atomic<uint64_t> shared_detected{0}, resources_seen{0};
  std::vector<std::thread> workers;
  for (uint32_t t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::vector<Packet*> held;
      for (uint32_t i = 0; i < rounds; ++i) {
        Packet* p = nullptr;
        if (pool->allocate(p) == Status::success) {
          // Mark the packet with our id; a descriptor handed out twice would be overwritten.
          auto reserved = p->protocol_reserved();
          reserved[0] = static_cast<std::byte>(t);
          held.push_back(p);
        } else {
          ++resources_seen;
        }
        if (held.size() > 8 || (i & 3) == 0) {
          for (Packet* q : held) {
            if (q->protocol_reserved()[0] != static_cast<std::byte>(t)) ++shared_detected;
            EXPECT_EQ(pool->free(q), Status::success);
          }
          held.clear();
        }
      }
      for (Packet* q : held) EXPECT_EQ(pool->free(q), Status::success);
    });
  for (auto& w : workers) w.join();
  EXPECT_EQ(shared_detected.load(), 0u);
  EXPECT_EQ(pool->available(), pool_size);
  EXPECT_EQ(pool->bad_frees(), 0u);
}

TEST(PoolThreads, RacingDoubleFreesLetExactlyOneWin) {
  auto pool = PacketPool::create(1, 0).value();
  for (int round = 0; round < 2000; ++round) {
    Packet* p = nullptr;
    ASSERT_EQ(pool->allocate(p), Status::success);
    std::atomic<int> wins{0};
    std::thread a([&] { wins += pool->free(p) == Status::success; });
    std::thread b([&] { wins += pool->free(p) == Status::success; });
    a.join();
    b.join();
    ASSERT_EQ(wins.load(), 1);
    ASSERT_EQ(pool->available(), 1u);
  }
  EXPECT_EQ(pool->bad_frees(), 2000u);
}

TEST(PoolThreads, BufferPoolConcurrentAllocateFree) {
  auto pool = BufferPool::create(32).value();
  std::byte memory[16];
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        Buffer* b = nullptr;
        if (pool->allocate(b, memory, 16) == Status::success) {
          EXPECT_EQ(pool->free(b), Status::success);
        }
      }
    });
  for (auto& w : workers) w.join();
  EXPECT_EQ(pool->available(), 32u);
  EXPECT_EQ(pool->bad_frees(), 0u);
}

}  // namespace pkio
