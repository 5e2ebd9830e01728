// Exactly once at the library's edges (contract R40, with R2, R5, R11, R14, R16): an entry
// repeated anywhere in one call, however far apart and whatever became of the first by then;
// binding slots reused over any number of open/close cycles; the adapter and miniport wired
// together at create and apart at halt; a second thread in a run-to-completion adapter.
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
using testing_support::RecordingProtocol;
using testing_support::Rig;

uint32_t times_sent(const FakeMiniport& mp, const Packet* p) {
  uint32_t n = 0;
  for (const auto& call : mp.calls)
    for (const Packet* q : call) n += q == p;
  return n;
}

// --- A packet twice in one call --------------------------------------------------------------

struct RepeatCase {
  bool run_to_completion;
  bool verifier;
  bool deserialized;
  bool complete_in_call;  // the miniport finishes each packet inside send_packets (else later)
  uint32_t distance;      // entries between the first and the repeat
};

std::string name_of(const ::testing::TestParamInfo<RepeatCase>& info) {
  const RepeatCase& c = info.param;
  return std::string(c.run_to_completion ? "inline" : "cross") + (c.verifier ? "_verifier" : "") +
         (c.deserialized ? "_deserialized" : "_serialized") + (c.complete_in_call ? "_in_call" : "_later") +
         "_distance" + std::to_string(c.distance);
}

struct RepeatedEntry : ::testing::TestWithParam<RepeatCase> {};

TEST_P(RepeatedEntry, R40_TheFirstIsSentTheRepeatsAreRefusedAndCountedWheneverTheFirstCompletes) {
  const RepeatCase& c = GetParam();
  Rig rig(2100);
  auto& [mp, factory, proto, adapter] = rig;
  mp.max_send_packets = 32;
  mp.deserialized = c.deserialized;
  mp.decide = [&](Packet*, uint32_t, uint32_t) { return c.complete_in_call && !c.deserialized ? Status::success : Status::pending; };
  // Deserialized, or pending: completed through send_complete, inside the call or at the end of it.
  if (c.complete_in_call && c.deserialized) mp.inside_call = [&](Packet* p) { send_complete(*adapter, p, Status::success); };
  if (!c.complete_in_call && !c.run_to_completion) mp.end_of_call = [&] { mp.complete_held(Status::success); };
  AdapterConfig config;
  config.run_to_completion = c.run_to_completion;
  config.verifier = c.verifier;
  rig.start(config);
  if (!c.run_to_completion) {
    ASSERT_TRUE(adapter->start_worker().has_value());
  }

  // p at 0, `distance` and 2 * distance; distinct packets everywhere else.
  const uint32_t n = 2 * c.distance + 1;
  Packet* p = factory.make();
  std::vector<Packet*> others = factory.make_many(n - 3);
  std::vector<Packet*> array;
  for (uint32_t i = 0, k = 0; i < n; ++i) array.push_back(i % c.distance == 0 ? p : others[k++]);
  send_packets(proto.binding, array.data(), n);
  const size_t distinct = others.size() + 1;
  if (c.run_to_completion) {
    ASSERT_TRUE(poll_until(*adapter, [&] {
      if (!c.complete_in_call) mp.complete_held(Status::success);
      return proto.completed() >= distinct;
    }));
  } else {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (proto.completed() < distinct && std::chrono::steady_clock::now() < end) std::this_thread::yield();
    adapter->stop_worker();
  }
  EXPECT_EQ(proto.completed(), distinct);
  EXPECT_EQ(proto.count_of(p), 1);
  EXPECT_EQ(times_sent(mp, p), 1u);
  for (Packet* q : others) EXPECT_EQ(proto.count_of(q), 1);
  const AdapterCounters counters = adapter->counters();
  EXPECT_EQ(counters.submitted, distinct);
  EXPECT_EQ(counters.violations.rejected_entries, 2u);
  EXPECT_EQ(counters.in_flight, 0u);
  if (c.verifier) {
    EXPECT_EQ(adapter->verifier_report().illegal, 0u) << format_verifier_report(adapter->verifier_report());
  }
}

std::vector<RepeatCase> repeat_cases() {
  std::vector<RepeatCase> out;
  for (const bool rtc : {true, false})
    for (const bool verifier : {false, true})
      for (const bool deserialized : {false, true})
        for (const bool in_call : {true, false})
          for (const uint32_t distance : {1u, 2u, 31u, 32u, 33u, 64u, 65u, 500u})
            out.push_back({rtc, verifier, deserialized, in_call, distance});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Distances, RepeatedEntry, ::testing::ValuesIn(repeat_cases()), name_of);

TEST(RepeatedEntries, R16_ARepeatAfterARequeueOnResourcesIsStillRefused) {
  for (const uint32_t n : {8u, 40u}) {  // within one miniport array, and across two
    SCOPED_TRACE(n);
    Rig rig;
    auto& [mp, factory, proto, adapter] = rig;
    mp.max_send_packets = 32;
    // The first call takes two packets and answers resources for the rest; then all succeed.
    mp.decide = [](Packet*, uint32_t i, uint32_t call) { return call == 0 && i == 2 ? Status::resources : Status::success; };
    rig.start();
    Packet* p = factory.make();
    std::vector<Packet*> array = factory.make_many(n - 1);
    array.insert(array.begin(), p);
    array.push_back(p);  // p at 0 and at n: sent before the requeue, repeated after it
    send_packets(proto.binding, array.data(), static_cast<uint32_t>(array.size()));
    send_resources_available(*adapter);
    ASSERT_TRUE(poll_until(*adapter, [&] { return proto.completed() == n; }));
    adapter->poll();
    EXPECT_EQ(proto.completed(), n);
    EXPECT_EQ(proto.count_of(p), 1);
    EXPECT_EQ(times_sent(mp, p), 1u);
    EXPECT_EQ(adapter->counters().violations.rejected_entries, 1u);
    EXPECT_GE(adapter->counters().requeued, 1u);
  }
}

TEST(RepeatedEntries, R40_APacketStillInFlightIsRefusedByALaterCallAndByASend) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start();
  Packet* p = factory.make();
  send_packets(proto.binding, &p, 1);
  ASSERT_EQ(mp.held.size(), 1u);  // pending in the miniport
  Packet* again[] = {factory.make(), p};
  send_packets(proto.binding, again, 2);  // in flight: refused
  EXPECT_EQ(send(proto.binding, p), Status::failure);
  EXPECT_EQ(times_sent(mp, p), 1u);
  EXPECT_EQ(adapter->counters().violations.resubmitted_in_flight, 2u);
  mp.complete_held(Status::success);
  ASSERT_TRUE(poll_until(*adapter, [&] { return proto.completed() == 2; }));
  EXPECT_EQ(proto.count_of(p), 1);
  EXPECT_EQ(send(proto.binding, p), Status::pending);  // the protocol's again: fine
  mp.complete_held(Status::success);
  ASSERT_TRUE(poll_until(*adapter, [&] { return proto.count_of(p) == 2; }));
}

// --- Bindings ------------------------------------------------------------------------------------

TEST(BindingSlots, R11_AnAdapterServesTenThousandOpenCloseCycles) {
  FakeMiniport mp;
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
  auto adapter = mp.make_adapter();
  PacketFactory factory(4);
  Packet* p = factory.make();
  for (int cycle = 0; cycle < 10000; ++cycle) {
    RecordingProtocol proto;
    ASSERT_EQ(testing_support::open_into(*adapter, proto.characteristics(), &proto, proto.binding), Status::success) << cycle;
    send_packets(proto.binding, &p, 1);
    ASSERT_EQ(proto.count_of(p), 1) << cycle;  // back to its own binding (R5)
    ASSERT_EQ(close_adapter(proto.binding), Status::success);
  }
  EXPECT_EQ(adapter->counters().completed_ok, 10000u);
}

TEST(BindingSlots, R11_SixtyFourOpenAtOnceAClosedSlotIsReusedAndTheOldHandleAnswersClosing) {
  FakeMiniport mp;
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
  auto adapter = mp.make_adapter();
  PacketFactory factory(4);
  std::vector<std::unique_ptr<RecordingProtocol>> protos;
  for (uint32_t i = 0; i < max_bindings; ++i) {
    protos.push_back(std::make_unique<RecordingProtocol>());
    protos.back()->open(*adapter);
  }
  RecordingProtocol extra;
  EXPECT_EQ(testing_support::open_into(*adapter, extra.characteristics(), &extra, extra.binding), Status::failure);
  Binding* old = protos[5]->binding;
  ASSERT_EQ(close_adapter(old), Status::success);
  ASSERT_EQ(testing_support::open_into(*adapter, extra.characteristics(), &extra, extra.binding), Status::success);
  Packet* p = factory.make();
  EXPECT_EQ(send(old, p), Status::closing);  // the old handle is closed, whoever has its slot now
  send_packets(old, &p, 1);
  adapter->poll();
  EXPECT_EQ(protos[5]->status_of(p), Status::closing);
  EXPECT_EQ(extra.completed(), 0u);
  send_packets(extra.binding, &p, 1);
  EXPECT_EQ(extra.count_of(p), 1);
  EXPECT_EQ(protos[5]->count_of(p), 1);
}

TEST(BindingSlots, R9_ABindingClosedFromItsHandlerGivesItsSlotBackWithItsLastPacket) {
  FakeMiniport mp;
  auto adapter = mp.make_adapter();
  PacketFactory factory(8);
  std::vector<std::unique_ptr<RecordingProtocol>> protos;
  for (uint32_t i = 0; i < max_bindings; ++i) {
    protos.push_back(std::make_unique<RecordingProtocol>());
    protos.back()->open(*adapter);
  }
  RecordingProtocol& closer = *protos[0];
  Status close_status = Status::success;
  closer.on_complete = [&](Packet*) {
    if (close_status == Status::success) close_status = close_adapter(closer.binding);
  };
  auto pkts = factory.make_many(2);
  send_packets(closer.binding, pkts.data(), 2);
  ASSERT_EQ(mp.held.size(), 2u);
  send_complete(*adapter, pkts[0], Status::success);
  adapter->poll();
  EXPECT_EQ(close_status, Status::pending);  // from the handler: closes with its last packet
  RecordingProtocol extra;
  EXPECT_EQ(testing_support::open_into(*adapter, extra.characteristics(), &extra, extra.binding), Status::failure);
  send_complete(*adapter, pkts[1], Status::success);
  adapter->poll();
  EXPECT_EQ(binding_outstanding(closer.binding), 0u);
  EXPECT_EQ(testing_support::open_into(*adapter, extra.characteristics(), &extra, extra.binding), Status::success);
}

// --- Adapter and miniport lifetimes --------------------------------------------------------------

TEST(Lifetimes, InitializeWiresTheMiniportToItsAdapterOnceBeforeAnyOtherCall) {
  FakeMiniport mp;
  auto adapter = Adapter::create(mp.characteristics(), &mp);
  ASSERT_TRUE(adapter.has_value()) << adapter.error().message;
  EXPECT_EQ(mp.initializes, 1u);
  EXPECT_EQ(mp.adapter, adapter->get());  // no separate step to forget
  EXPECT_TRUE(mp.calls.empty());
}

TEST(Lifetimes, AFailedInitializeFailsCreateAndNothingElseIsCalled) {
  FakeMiniport mp;
  mp.initialize_status = Status::adapter_removed;
  auto adapter = Adapter::create(mp.characteristics(), &mp);
  ASSERT_FALSE(adapter.has_value());
  EXPECT_EQ(adapter.error().status, Status::adapter_removed);
  EXPECT_NE(adapter.error().message.find("initialize"), std::string::npos) << adapter.error().message;
  EXPECT_EQ(mp.halts, 0u);
}

TEST(Lifetimes, AHaltedAdapterCompletesEverythingAndNeverCallsTheMiniportAgain) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start();
  auto pkts = factory.make_many(3);
  send_packets(proto.binding, pkts.data(), 3);
  ASSERT_EQ(mp.held.size(), 3u);
  adapter->halt();  // what a miniport about to go does first
  EXPECT_EQ(mp.halts, 1u);
  ASSERT_EQ(proto.completed(), 3u);
  for (Packet* p : pkts) EXPECT_EQ(proto.status_of(p), Status::request_aborted);
  const size_t calls = mp.calls.size();
  mp.held.clear();
  // From here on nothing reaches the miniport: sends, polls, requests, resets.
  Packet* late = factory.make();
  EXPECT_EQ(send(proto.binding, late), Status::closing);
  send_packets(proto.binding, &late, 1);
  adapter->poll();
  EXPECT_EQ(proto.status_of(late), Status::closing);
  uint32_t value = 0, written = 0, needed = 0;
  EXPECT_EQ(query_information(proto.binding, Oid::maximum_total_size, &value, 4, &written, &needed),
            Status::adapter_removed);
  EXPECT_EQ(query_information(proto.binding, Oid::maximum_send_packets, &value, 4, &written, &needed),
            Status::success);  // the framework's own answer
  EXPECT_EQ(adapter->reset(), Status::closing);
  adapter->halt();  // idempotent
  EXPECT_EQ(mp.calls.size(), calls);
  EXPECT_EQ(mp.halts, 1u);
  EXPECT_EQ(mp.resets, 0u);
}

// --- One thread in the worker's role -------------------------------------------------------------

struct ConcurrentUse : ::testing::TestWithParam<bool> {};  // verifier off, on

TEST_P(ConcurrentUse, R14_ASecondThreadInARunToCompletionAdapterIsRefusedAndCounted) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  std::atomic<bool> inside{false}, go{false};
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
  mp.inside_call = [&](Packet*) {  // the owner stays inside the miniport until the other is done
    inside = true;
    while (!go) std::this_thread::yield();
  };
  AdapterConfig config;
  config.verifier = GetParam();
  rig.start(config);
  Packet* mine = factory.make();
  Packet* theirs = factory.make();
  Packet* single = factory.make();
  std::thread owner([&] { send_packets(proto.binding, &mine, 1); });
  while (!inside) std::this_thread::yield();
  send_packets(proto.binding, &theirs, 1);                     // refused
  EXPECT_EQ(send(proto.binding, single), Status::failure);     // refused
  EXPECT_EQ(adapter->poll(), 0u);                              // does nothing
  uint32_t value = 0, written = 0, needed = 0;
  EXPECT_EQ(query_information(proto.binding, Oid::maximum_total_size, &value, 4, &written, &needed),
            Status::failure);                                  // not run beside the owner
  go = true;
  owner.join();
  mp.inside_call = nullptr;
  const AdapterCounters c = adapter->counters();
  EXPECT_EQ(c.violations.concurrent_use, 4u);
  EXPECT_EQ(c.violations.rejected_entries, 2u);
  EXPECT_EQ(c.submitted, 1u);
  EXPECT_EQ(proto.count_of(mine), 1);
  EXPECT_EQ(times_sent(mp, theirs) + times_sent(mp, single), 0u);
  EXPECT_EQ(factory.packets->free(theirs), Status::success);  // never accepted: still ours
  // In turn, from another thread, it is fine.
  std::thread later([&] { send_packets(proto.binding, &single, 1); });
  later.join();
  EXPECT_EQ(proto.count_of(single), 1);
  EXPECT_EQ(adapter->counters().violations.concurrent_use, 4u);
}

INSTANTIATE_TEST_SUITE_P(Verifier, ConcurrentUse, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "with_verifier" : "without_verifier"; });

TEST(ConcurrentUse, R14_APollBesideTheWorkerThreadIsRefused) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  std::atomic<bool> inside{false}, go{false};
  mp.inside_call = [&](Packet*) {
    inside = true;
    while (!go) std::this_thread::yield();
  };
  AdapterConfig config;
  config.run_to_completion = false;
  rig.start(config);
  ASSERT_TRUE(adapter->start_worker().has_value());
  Packet* p = factory.make();
  send_packets(proto.binding, &p, 1);
  while (!inside) std::this_thread::yield();
  EXPECT_EQ(adapter->poll(), 0u);  // the worker is in its step: nothing happens here
  go = true;
  adapter->stop_worker();
  EXPECT_EQ(adapter->counters().violations.concurrent_use, 1u);
}

// --- Buffers -------------------------------------------------------------------------------------

TEST(Buffers, R10_ABufferMadeToMapNoMemoryAfterItWasCountedFailsAsInvalidPacket) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start();
  Packet* p = factory.make();
  PacketCounts counts;
  ASSERT_EQ(p->query(counts), Status::success);  // counted while valid
  p->first_buffer()->address = nullptr;            // then broken behind the chain's back
  EXPECT_EQ(send(proto.binding, p), Status::invalid_packet);
  send_packets(proto.binding, &p, 1);
  adapter->poll();
  EXPECT_EQ(proto.status_of(p), Status::invalid_packet);
  EXPECT_TRUE(mp.calls.empty());
}

}  // namespace
}  // namespace pkio
