// SubmissionQueue: the DPDK ring and its overflow keep every producer's order (contract R6)
// and hand every packet over exactly once, also while the ring is full.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <pkio/detail/submission_queue.h>

namespace pkio {
namespace {

constexpr uint32_t ring_room = SubmissionQueue::ring_slots - 1;  // one slot stays unused

TEST(SubmissionQueue, MoreThanTheRingHoldsOverflowsAndComesOutInOrder) {
  SubmissionQueue q;
  ASSERT_TRUE(q.ready());
  const uint32_t total = ring_room + 5000;
  std::vector<Packet> packets(total);
  std::vector<Packet*> order;
  for (auto& p : packets) order.push_back(&p);
  // In calls of 100, so that one call is split between the ring and the overflow.
  for (uint32_t i = 0; i < total; i += 100) q.push(order.data() + i, std::min(100u, total - i));
  EXPECT_EQ(q.overflow_count(), total - ring_room);
  std::vector<Packet*> out(total + 1);
  uint32_t got = 0;
  while (const uint32_t k = q.pop_burst(out.data() + got, 37)) got += k;
  ASSERT_EQ(got, total);
  for (uint32_t i = 0; i < total; ++i) ASSERT_EQ(out[i], order[i]) << "at " << i;
  EXPECT_EQ(q.overflow_count(), 0u);
  // With the overflow empty again, sends take the ring.
  q.push(order.data(), 10);
  EXPECT_EQ(q.overflow_count(), 0u);
  EXPECT_EQ(q.pop_burst(out.data(), 64), 10u);
}

TEST(SubmissionQueue, PacketsSentAfterAnOverflowFollowIt) {
  SubmissionQueue q;
  std::vector<Packet> packets(ring_room + 3);
  std::vector<Packet*> all;
  for (auto& p : packets) all.push_back(&p);
  q.push(all.data(), ring_room + 1);  // fills the ring, one to the overflow
  EXPECT_EQ(q.overflow_count(), 1u);
  Packet* out[64];
  // The first pop stages the ring and then the overflowed packet behind it...
  ASSERT_EQ(q.pop_burst(out, 64), 64u);
  EXPECT_EQ(q.overflow_count(), 0u);
  // ...so these take the ring again, and still come out after it.
  q.push(all.data() + ring_room + 1, 2);
  EXPECT_EQ(q.overflow_count(), 0u);
  std::vector<Packet*> rest;
  while (const uint32_t k = q.pop_burst(out, 64)) rest.insert(rest.end(), out, out + k);
  ASSERT_EQ(rest.size(), ring_room + 3 - 64);
  for (std::size_t i = 0; i < rest.size(); ++i) ASSERT_EQ(rest[i], all[64 + i]) << "at " << i;
}

// Producers send numbered packets in calls of random length while the consumer takes bursts
// of random length and pauses now and then, so that the ring fills and sends overflow.
TEST(SubmissionQueue, ConcurrentProducersThroughRingAndOverflowKeepOrderAndLoseNothing) {
  constexpr uint32_t producers = 4, per_producer = 150000, window = 8192;
  SubmissionQueue q;
  std::vector<std::unique_ptr<Packet[]>> pools;
  for (uint32_t i = 0; i < producers; ++i) pools.push_back(std::make_unique<Packet[]>(window));
  // Packets consumed so far per producer: a producer reuses a packet only once it is out.
  std::vector<std::atomic<uint64_t>> consumed(producers);
  std::atomic<bool> abandon{false};  // the consumer gave up: producers stop waiting
  std::vector<std::thread> threads;
  for (uint32_t id = 0; id < producers; ++id)
    threads.emplace_back([&, id] {
      std::mt19937 rng(id);
      Packet* call[100];
      uint64_t seq = 0;
      while (seq < per_producer) {
        const uint32_t n = std::min<uint32_t>(1 + rng() % 100, per_producer - static_cast<uint32_t>(seq));
        // A waiting producer sleeps rather than spins: on a machine with fewer cores than
        // threads (CI runs two suites at once) spinning producers starve the consumer.
        while (seq + n - consumed[id].load(std::memory_order_acquire) > window) {
          if (abandon.load()) return;
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        for (uint32_t k = 0; k < n; ++k, ++seq) {
          Packet* p = &pools[id][seq % window];
          p->oob.time_to_send = static_cast<int64_t>(seq);
          p->flags = id;
          call[k] = p;
        }
        q.push(call, n);
      }
    });
  std::vector<uint64_t> next(producers, 0);
  uint64_t total = 0, max_overflow = 0;
  bool order_ok = true;
  std::mt19937 rng(99);
  Packet* out[256];
  // First the consumer waits until the producers overflowed the ring (their windows hold four
  // times what it does), so the overflow path is taken however fast the consumer is later
  // (under a sanitizer the random pauses alone may never let the ring fill).
  const auto fill_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (q.overflow_count() == 0 && std::chrono::steady_clock::now() < fill_deadline) std::this_thread::yield();
  // A hang guard, not a speed check: it fails only if nothing comes out for 30 s.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (total < uint64_t{producers} * per_producer && std::chrono::steady_clock::now() < deadline) {
    max_overflow = std::max(max_overflow, q.overflow_count());
    const uint32_t k = q.pop_burst(out, 1 + rng() % 256);
    if (k == 0) {
      std::this_thread::yield();
      continue;
    }
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (uint32_t i = 0; i < k; ++i) {
      const uint32_t id = out[i]->flags;
      const auto seq = static_cast<uint64_t>(out[i]->oob.time_to_send);
      if (id >= producers || seq != next[id]) order_ok = false;
      if (id < producers) {
        next[id] = seq + 1;
        consumed[id].store(next[id], std::memory_order_release);
      }
    }
    total += k;
    if (rng() % 4096 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  abandon.store(true);
  for (auto& t : threads) t.join();
  EXPECT_TRUE(order_ok);
  EXPECT_EQ(total, uint64_t{producers} * per_producer);
  EXPECT_GT(max_overflow, 0u) << "the ring never filled: the overflow path was not exercised";
  Packet* extra[1];
  EXPECT_EQ(q.pop_burst(extra, 1), 0u);
}

}  // namespace
}  // namespace pkio
