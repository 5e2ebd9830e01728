// contract.md's protocol-side faults not covered by a rule's own test: packets that are not
// the protocol's to send, a null binding, a handler that stalls, and threads sending while
// another resets the adapter and closes their bindings.
#include <atomic>
#include <chrono>
#include <thread>

#include "fake_miniport.h"
#include "poll_until.h"

namespace pkio {
namespace {

using testing_support::FakeMiniport;
using testing_support::PacketFactory;
using testing_support::poll_until;
using testing_support::Rig;

TEST(ProtocolFaults, PacketsNotFromAPoolOrAlreadyFreedAreRefusedAndNeverReachTheMiniport) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start();
  Packet on_stack;  // not from a pool
  Packet* freed = factory.make();
  factory.release(freed);
  EXPECT_EQ(send(proto.binding, &on_stack), Status::failure);
  EXPECT_EQ(send(proto.binding, freed), Status::failure);
  Packet* good = factory.make();
  Packet* batch[] = {&on_stack, freed, good, nullptr};
  send_packets(proto.binding, batch, 4);
  ASSERT_TRUE(poll_until(*adapter, [&] {
    mp.complete_held(Status::success);
    return proto.completed() == 1;
  }));
  EXPECT_EQ(proto.count_of(good), 1);
  EXPECT_EQ(mp.total_sent(), 1u);
  const auto c = adapter->counters();
  EXPECT_EQ(c.violations.rejected_entries, 5u);  // two sends, three array entries
  EXPECT_EQ(c.violations.resubmitted_in_flight, 0u);
  EXPECT_EQ(c.submitted, 1u);
}

TEST(ProtocolFaults, NullBindingIsRefusedAndThePacketStaysTheProtocols) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start();
  Packet* p = factory.make();
  EXPECT_EQ(send(nullptr, p), Status::failure);
  send_packets(nullptr, &p, 1);
  EXPECT_EQ(send(proto.binding, p), Status::pending);  // still the protocol's to send
  mp.complete_held(Status::success);
  adapter->poll();
  EXPECT_EQ(proto.count_of(p), 1);
}

TEST(ProtocolFaults, AHandlerThatStallsDelaysCompletionsButLosesNone) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  AdapterConfig config;
  config.run_to_completion = false;
  rig.start(config);
  std::atomic<int> calls{0};
  proto.on_complete = [&](Packet*) {
    if (calls++ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  };
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
  ASSERT_TRUE(adapter->start_worker().has_value());
  auto pkts = factory.make_many(200);
  for (Packet* p : pkts) ASSERT_EQ(send(proto.binding, p), Status::pending);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (proto.completed() < pkts.size() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  adapter->stop_worker();
  ASSERT_EQ(proto.completed(), pkts.size());
  for (Packet* p : pkts) EXPECT_EQ(proto.count_of(p), 1);
}

TEST(ProtocolFaults, AResetTheMiniportNeverCompletesStillEndsAndCompletesEverythingOnce) {
  // NDIS lets MiniportReset return pending and call NdisMResetComplete later; pkio's reset is
  // synchronous, so a miniport that says pending and never finishes cannot hold it open.
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start();
  mp.on_reset = [] { return Status::pending; };
  auto pkts = factory.make_many(6);
  send_packets(proto.binding, pkts.data(), 6);
  ASSERT_EQ(mp.held.size(), 6u);
  EXPECT_EQ(adapter->reset(), Status::success);
  for (Packet* p : pkts) {
    EXPECT_EQ(proto.count_of(p), 1);
    EXPECT_EQ(proto.status_of(p), Status::reset_in_progress);
  }
  ASSERT_EQ(proto.indications.size(), 2u);
  EXPECT_EQ(proto.indications[1], Indication::reset_end);
  Packet* after = factory.make();
  EXPECT_EQ(send(proto.binding, after), Status::pending);  // the adapter works on
  mp.complete_held(Status::success);  // the late completions of the old six are refused
  adapter->poll();
  EXPECT_EQ(proto.count_of(after), 1);
  for (Packet* p : pkts) EXPECT_EQ(proto.count_of(p), 1);
}

TEST(ProtocolFaults, ThreadsSendingWhileAnotherResetsAndClosesTheirBindingsLoseNothing) {
  FakeMiniport mp;
  mp.max_send_packets = 16;
  mp.decide = [](Packet*, uint32_t i, uint32_t) { return i % 3 == 0 ? Status::pending : Status::success; };
  AdapterConfig config;
  config.run_to_completion = false;
  auto adapter = mp.make_adapter(config);
  // A worker-side helper completes what the fake device holds, as a device would.
  std::atomic<bool> stop{false};
  constexpr int senders = 3;
  struct Sender {
    testing_support::RecordingProtocol proto;
    PacketFactory factory{256};
    uint64_t accepted = 0, refused = 0;
  };
  std::vector<std::unique_ptr<Sender>> ss;
  for (int i = 0; i < senders; ++i) {
    ss.push_back(std::make_unique<Sender>());
    ss.back()->proto.open(*adapter);
  }
  mp.end_of_call = [&] { mp.complete_held(Status::success); };
  ASSERT_TRUE(adapter->start_worker().has_value());
  std::vector<std::thread> threads;
  for (int t = 0; t < senders; ++t)
    threads.emplace_back([&, s = ss[t].get()] {
      std::vector<Packet*> mine = s->factory.make_many(256);
      size_t next = 0;
      while (!stop.load()) {
        if (next == mine.size()) {  // wait for our packets to come back, then reuse them
          if (s->proto.completed() + s->refused < s->accepted + s->refused) {
            std::this_thread::yield();
            continue;
          }
          next = 0;
        }
        const Status st = send(s->proto.binding, mine[next]);
        if (st == Status::pending) ++s->accepted;
        else ++s->refused;  // closing, reset_in_progress: finished at once (R1)
        ++next;
        if (st == Status::closing) return;
      }
    });
  for (int r = 0; r < 5; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(adapter->reset(), Status::success);
  }
  EXPECT_EQ(close_adapter(ss[0]->proto.binding), Status::success);  // its thread still sends
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  for (auto& th : threads) th.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!adapter->idle() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  adapter->stop_worker();
  for (auto& s : ss) {
    EXPECT_GT(s->accepted, 0u);
    EXPECT_EQ(s->proto.completed(), s->accepted);  // every accepted packet, exactly once
    for (auto& [p, n] : s->proto.times_completed) EXPECT_GE(n, 1);
  }
  EXPECT_EQ(binding_outstanding(ss[0]->proto.binding), 0u);
  const auto c = adapter->counters();
  EXPECT_EQ(c.in_flight, 0u);
  EXPECT_GE(c.resets, 5u);
  EXPECT_EQ(c.violations.unexpected_completion + c.violations.foreign_completion, 0u);
}

}  // namespace
}  // namespace pkio
