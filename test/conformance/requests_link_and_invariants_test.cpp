// Contract R24-R30 (requests, counters, link), R36, R39 and the invariant R40, against the
// fake miniport. The device-specific rules (R26 values, R37, R38) are pinned on real DPDK
// ports in test/dpdk.
#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "fake_miniport.h"
#include "poll_until.h"

namespace pkio {
namespace {

using testing_support::FakeMiniport;
using testing_support::PacketFactory;
using testing_support::poll_until;
using testing_support::RecordingProtocol;

struct Requests : ::testing::Test {
  FakeMiniport mp;
  PacketFactory factory;
  RecordingProtocol proto;
  std::unique_ptr<Adapter> adapter;
  void SetUp() override {
    mp.max_send_packets = 16;
    adapter = mp.make_adapter();
    proto.open(*adapter);
  }
};

TEST_F(Requests, R24_ExactBufferShortBufferAndUnknownOid) {
  uint32_t value = 0, written = 99, needed = 99;
  EXPECT_EQ(query_information(proto.binding, Oid::maximum_send_packets, &value, 4, &written, &needed),
            Status::success);
  EXPECT_EQ(value, 16u);
  EXPECT_EQ(written, 4u);
  // Short buffers: 0 and 3 bytes; the guard bytes after the buffer must stay untouched.
  unsigned char guarded[8];
  std::memset(guarded, 0xEE, sizeof guarded);
  for (uint32_t length : {0u, 3u}) {
    EXPECT_EQ(query_information(proto.binding, Oid::maximum_total_size, guarded, length, &written,
                                &needed),
              Status::invalid_length);
    EXPECT_EQ(written, 0u);
    EXPECT_EQ(needed, 4u);
    for (unsigned char c : guarded) EXPECT_EQ(c, 0xEE);
  }
  EXPECT_EQ(query_information(proto.binding, Oid::maximum_total_size, guarded, 8, &written, &needed),
            Status::success);
  EXPECT_EQ(written, 4u);  // never more than the answer, never more than the buffer
  EXPECT_EQ(guarded[4], 0xEE);
  EXPECT_EQ(query_information(proto.binding, static_cast<Oid>(0x0DDBA11), guarded, 8, &written,
                              &needed),
            Status::not_supported);
  EXPECT_EQ(query_information(proto.binding, Oid::link_speed, nullptr, 1u << 30, &written, &needed),
            Status::not_supported);
}

TEST_F(Requests, R25_XmitOkAndErrorAnswerIn4Or8BytesAndMatchCompletions) {
  mp.decide = [](Packet*, uint32_t i, uint32_t) { return i % 3 == 0 ? Status::failure : Status::success; };
  auto pkts = factory.make_many(9);
  send_packets(proto.binding, pkts.data(), 9);
  uint64_t ok8 = 0, err8 = 0;
  uint32_t ok4 = 0, written = 0, needed = 0;
  EXPECT_EQ(query_information(proto.binding, Oid::xmit_ok, &ok8, 8, &written, &needed), Status::success);
  EXPECT_EQ(written, 8u);
  EXPECT_EQ(ok8, 6u);
  EXPECT_EQ(query_information(proto.binding, Oid::xmit_ok, &ok4, 4, &written, &needed), Status::success);
  EXPECT_EQ(written, 4u);
  EXPECT_EQ(ok4, 6u);
  unsigned char seven[7] = {};
  EXPECT_EQ(query_information(proto.binding, Oid::xmit_error, seven, 7, &written, &needed), Status::success);
  EXPECT_EQ(written, 4u);
  EXPECT_EQ(query_information(proto.binding, Oid::xmit_error, &err8, 8, &written, &needed), Status::success);
  EXPECT_EQ(err8, 3u);
  EXPECT_EQ(query_information(proto.binding, Oid::xmit_error, &err8, 3, &written, &needed),
            Status::invalid_length);
  const auto c = adapter->counters();
  EXPECT_EQ(ok8, c.completed_ok);
  EXPECT_EQ(err8, c.completed_error);
}

TEST_F(Requests, R27_TransmitQueueLengthCountsAcceptedNotCompleted) {
  auto pkts = factory.make_many(5);
  send_packets(proto.binding, pkts.data(), 5);
  uint32_t length = 0, written = 0, needed = 0;
  ASSERT_EQ(query_information(proto.binding, Oid::transmit_queue_length, &length, 4, &written, &needed),
            Status::success);
  EXPECT_EQ(length, 5u);
  send_complete(*adapter, mp.held[0], Status::success);
  send_complete(*adapter, mp.held[1], Status::success);
  adapter->poll();
  ASSERT_EQ(query_information(proto.binding, Oid::transmit_queue_length, &length, 4, &written, &needed),
            Status::success);
  EXPECT_EQ(length, 3u);
}

TEST(RequestsThreaded, R28_ConcurrentRequestsRunOneAtATimeAndEachCompletesOnce) {
  FakeMiniport mp;
  AdapterConfig config;
  config.run_to_completion = false;
  RecordingProtocol proto;
  auto adapter = mp.make_adapter(config);
  proto.open(*adapter);
  ASSERT_TRUE(adapter->start_worker().has_value());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        uint32_t v = 0, w = 0, n = 0;
        if (query_information(proto.binding, Oid::maximum_send_packets, &v, 4, &w, &n) == Status::success &&
            v == 8 && w == 4)
          ++ok;
      }
    });
  for (auto& t : threads) t.join();
  adapter->stop_worker();
  EXPECT_EQ(ok.load(), 800);
}

TEST_F(Requests, R29_LinkChangesAreIndicatedToEveryBindingOnRealChangesOnly) {
  RecordingProtocol second;
  second.open(*adapter);
  indicate_status(*adapter, Indication::media_connect);  // no change: nothing
  adapter->poll();
  EXPECT_TRUE(proto.indications.empty());
  indicate_status(*adapter, Indication::media_disconnect);
  indicate_status(*adapter, Indication::media_disconnect);
  adapter->poll();
  indicate_status(*adapter, Indication::media_connect);
  adapter->poll();
  for (RecordingProtocol* p : {&proto, &second}) {
    ASSERT_EQ(p->indications.size(), 2u);
    EXPECT_EQ(p->indications[0], Indication::media_disconnect);
    EXPECT_EQ(p->indications[1], Indication::media_connect);
  }
}

TEST_F(Requests, R29_NoIndicationDuringHalt) {
  indicate_status(*adapter, Indication::media_disconnect);
  adapter->halt();
  adapter->poll();
  EXPECT_TRUE(proto.indications.empty());
}

TEST_F(Requests, R30_WhileTheLinkIsDownSendsFailPromptlyWithNoCable) {
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::resources; };
  auto queued = factory.make_many(2);
  send_packets(proto.binding, queued.data(), 2);  // stuck in the queue on resources
  indicate_status(*adapter, Indication::media_disconnect);
  adapter->poll();
  for (Packet* p : queued) EXPECT_EQ(proto.status_of(p), Status::no_cable);
  Packet* p = factory.make();
  EXPECT_EQ(send(proto.binding, p), Status::no_cable);
  Packet* q = factory.make();
  send_packets(proto.binding, &q, 1);
  adapter->poll();
  EXPECT_EQ(proto.status_of(q), Status::no_cable);
  indicate_status(*adapter, Indication::media_connect);
  adapter->poll();
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
  EXPECT_EQ(send(proto.binding, p), Status::pending);
  EXPECT_EQ(proto.status_of(p), Status::success);
}

TEST_F(Requests, R36_StatusIsReadOnceWhenSendPacketsReturns) {
  // The fake says pending, then scribbles on the status before completing: the dispatcher
  // must have taken pending at return time and deliver the completion's status.
  auto pkts = factory.make_many(2);
  send_packets(proto.binding, pkts.data(), 2);
  for (Packet* p : mp.held) p->oob.status = Status::failure;
  mp.complete_held(Status::success);
  adapter->poll();
  for (Packet* p : pkts) EXPECT_EQ(proto.status_of(p), Status::success);
}

TEST_F(Requests, R39_PerPacketFlagsReachTheMiniportUnchanged) {
  std::vector<uint32_t> seen;
  mp.inside_call = [&](Packet* p) { seen.push_back(p->flags); };
  auto pkts = factory.make_many(3);
  pkts[0]->flags = packet_flag::dont_loopback;
  pkts[1]->flags = packet_flag::loopback_only | packet_flag::multicast;
  pkts[2]->flags = 0xA5A50000u;
  send_packets(proto.binding, pkts.data(), 3);
  EXPECT_EQ(seen, (std::vector<uint32_t>{packet_flag::dont_loopback,
                                         packet_flag::loopback_only | packet_flag::multicast,
                                         0xA5A50000u}));
}

// R40 is checked at rest, but counters are also read live (DPDK telemetry, progress lines):
// a reader on another thread must never see more packets completed than submitted, also on
// the fused inline path where a whole array completes inside one send_packets call.
TEST(Invariant, R40_LiveCountersNeverShowMoreCompletedThanSubmitted) {
  FakeMiniport mp;
  mp.max_send_packets = 8;
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
  PacketFactory factory(64);
  RecordingProtocol proto;
  auto adapter = mp.make_adapter();
  proto.open(*adapter);
  auto pkts = factory.make_many(64);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0}, bad{0};
  std::thread reader([&] {
    while (!done.load()) {
      const AdapterCounters c = adapter->counters();
      if (c.completed_ok + c.completed_error > c.submitted) bad.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  for (int round = 0; round < 3000; ++round) send_packets(proto.binding, pkts.data(), 64);
  done.store(true);
  reader.join();
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(bad.load(), 0u) << "of " << reads.load() << " live reads";
  EXPECT_EQ(proto.completed(), 3000u * 64u);
}

// R40: whatever a seeded random schedule does, at rest every packet was rejected at once or
// completed exactly once, the counters reconcile and the pool is full again.
TEST(Invariant, R40_RandomScheduleReconcilesAtRest) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    std::mt19937 rng(seed);
    FakeMiniport mp;
    mp.max_send_packets = 1 + rng() % 16;
    mp.deserialized = seed % 4 == 0;
    mp.decide = [&](Packet*, uint32_t, uint32_t) {
      switch (rng() % 6) {
        case 0: return Status::resources;
        case 1: return Status::failure;
        case 2: return Status::success;
        default: return Status::pending;
      }
    };
    mp.end_of_call = [&] { if (rng() % 2) send_resources_available(*mp.adapter); };
    PacketFactory factory(512);
    RecordingProtocol proto;
    auto adapter = mp.make_adapter();
    proto.open(*adapter);
    uint64_t rejected = 0, handed = 0;
    for (int round = 0; round < 200; ++round) {
      const uint32_t n = rng() % 8;
      std::vector<Packet*> pkts;
      for (uint32_t i = 0; i < n; ++i) {
        Packet* p = factory.make(rng() % 10 == 0 ? 2000 : 64);  // some too long (R10)
        if (p != nullptr) pkts.push_back(p);
      }
      if (rng() % 3 == 0 && !pkts.empty()) {
        for (Packet* p : pkts) {
          ++handed;
          if (send(proto.binding, p) != Status::pending) {
            ++rejected;
            factory.release(p);
          }
        }
      } else {
        handed += pkts.size();
        send_packets(proto.binding, pkts.data(), static_cast<uint32_t>(pkts.size()));
      }
      if (rng() % 3 == 0 && !mp.held.empty()) {
        std::shuffle(mp.held.begin(), mp.held.end(), rng);
        const size_t k = 1 + rng() % mp.held.size();
        for (size_t i = 0; i < k; ++i) send_complete(*adapter, mp.held[i], rng() % 4 ? Status::success : Status::no_cable);
        mp.held.erase(mp.held.begin(), mp.held.begin() + static_cast<long>(k));
      }
      if (rng() % 50 == 0) (void)adapter->reset();
      adapter->poll();
      // Give completed packets back to the pool (each incarnation counted on its own).
      std::lock_guard lock(proto.mutex);
      for (auto& [p, s] : proto.completions) {
        ASSERT_EQ(proto.times_completed[p], 1) << "completed twice";
        proto.times_completed.erase(p);
        factory.release(p);
      }
      proto.completions.clear();
    }
    mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
    send_resources_available(*adapter);
    mp.complete_held(Status::success);
    ASSERT_TRUE(poll_until(*adapter, [&] { return adapter->idle(); }));
    {
      std::lock_guard lock(proto.mutex);
      for (auto& [p, s] : proto.completions) factory.release(p);
      for (auto& [p, n] : proto.times_completed) ASSERT_LE(n, 1) << "completed twice";
    }
    const auto c = adapter->counters();
    EXPECT_EQ(c.submitted + c.rejected_sync, handed);
    EXPECT_EQ(c.rejected_sync, rejected);
    EXPECT_EQ(c.in_flight, 0u);
    EXPECT_EQ(c.submitted, c.completed_ok + c.completed_error);
    EXPECT_EQ(c.completed_by_status[status_index(Status::pending)], 0u);
    EXPECT_EQ(c.completed_by_status[status_index(Status::resources)], 0u);
    uint64_t ok = 0, w = 0, nd = 0;
    ASSERT_EQ(adapter->query(Oid::xmit_ok, &ok, 8, reinterpret_cast<uint32_t*>(&w),
                             reinterpret_cast<uint32_t*>(&nd)),
              Status::success);
    EXPECT_EQ(ok, c.completed_ok);
    EXPECT_EQ(factory.packets->available(), factory.packets->capacity());
    EXPECT_EQ(factory.buffers->available(), factory.buffers->capacity());
  }
}

}  // namespace
}  // namespace pkio
