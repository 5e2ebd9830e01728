// MpmcRing: FIFO, bounded, and exactly-once under concurrent producers and consumers.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <pkio/detail/mpmc_ring.h>

namespace pkio {

TEST(MpmcRing, RoundsCapacityUpToPowerOfTwo) {
  MpmcRing<uint32_t> ring(5);
  EXPECT_EQ(ring.capacity(), 8u);
}

TEST(MpmcRing, IsFifoAndRefusesWhenFullOrEmpty) {
  MpmcRing<uint32_t> ring(4);
  uint32_t v;
  EXPECT_FALSE(ring.try_pop(v));
  for (uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(ring.try_push(i));
  EXPECT_FALSE(ring.try_push(99));
  EXPECT_EQ(ring.size_approx(), 4u);
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(ring.try_pop(v));
}

TEST(MpmcRing, ConcurrentProducersAndConsumersDeliverEveryValueOnceInProducerOrder) {
  constexpr uint32_t producers = 3, per_producer = 200000;
  MpmcRing<uint32_t> ring(1024);
  std::vector<std::atomic<uint8_t>> seen(producers * per_producer);
  std::atomic<uint32_t> consumed{0};
  std::atomic<bool> order_ok{true};
  std::vector<std::thread> threads;
  for (uint32_t p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (uint32_t i = 0; i < per_producer; ++i)
        while (!ring.try_push(p * per_producer + i)) std::this_thread::yield();
    });
  for (int c = 0; c < 2; ++c)
    threads.emplace_back([&] {
      std::vector<int64_t> last(producers, -1);
      uint32_t v;
      while (consumed.load() < producers * per_producer) {
        if (!ring.try_pop(v)) { std::this_thread::yield(); continue; }
        seen[v].fetch_add(1);
        const uint32_t p = v / per_producer;
        if (static_cast<int64_t>(v) <= last[p]) order_ok = false;  // per-producer FIFO per consumer
        last[p] = v;
        consumed.fetch_add(1);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_TRUE(order_ok.load());
  for (auto& s : seen) ASSERT_EQ(s.load(), 1);
}

}  // namespace pkio
