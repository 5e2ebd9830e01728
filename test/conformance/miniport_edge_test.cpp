// Contract R6 and R13-R23: order into the miniport, registration, serialization, batch
// limits, per-packet statuses, requeues, deserialized miniports, bad completions, timeouts.
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

/// The packets the miniport accepted (status other than resources), in the order it saw them.
std::vector<Packet*> accepted_order(const FakeMiniport& mp, const std::vector<std::vector<Status>>& st) {
  std::vector<Packet*> out;
  for (size_t c = 0; c < mp.calls.size(); ++c)
    for (size_t i = 0; i < mp.calls[c].size(); ++i) {
      if (c < st.size() && i < st[c].size() && st[c][i] == Status::resources) break;
      out.push_back(mp.calls[c][i]);
    }
  return out;
}

TEST(MiniportEdge, R6_SubmissionOrderSurvivesSplitsAndRequeues) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.max_send_packets = 4;
  std::vector<std::vector<Status>> statuses;
  mp.decide = [&](Packet*, uint32_t i, uint32_t call) {
    if (statuses.size() <= call) statuses.resize(call + 1);
    // Partial acceptance on every other call, at a moving index.
    const Status s = (call % 2 == 0 && i == call % 4) ? Status::resources : Status::pending;
    statuses[call].push_back(s);
    return s;
  };
  mp.end_of_call = [&] { send_resources_available(*mp.adapter); };
  rig.start();
  auto first = factory.make_many(7);
  auto second = factory.make_many(6);
  send_packets(proto.binding, first.data(), 7);
  send_packets(proto.binding, second.data(), 6);
  ASSERT_TRUE(poll_until(*adapter, [&] { return mp.held.size() == 13; }));
  std::vector<Packet*> expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(accepted_order(mp, statuses), expected);
  EXPECT_GT(adapter->counters().requeued, 0u);
}

TEST(MiniportEdge, R13_NeitherSendNorSendPacketsFailsRegistration) {
  FakeMiniport mp;
  mp.offer_send_packets = false;
  mp.offer_send = false;
  auto a = Adapter::create(mp.characteristics(), &mp);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().status, Status::failure);
  EXPECT_NE(a.error().message.find("neither"), std::string::npos);
}

TEST(MiniportEdge, R13_WithBothOnlySendPacketsIsCalled) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.offer_send = true;
  rig.start();
  auto pkts = factory.make_many(3);
  send_packets(proto.binding, pkts.data(), 3);
  EXPECT_EQ(mp.single_sends, 0u);
  EXPECT_EQ(mp.calls.size(), 1u);
}

TEST(MiniportEdge, R14_SerializedMiniportIsNeverEnteredTwiceUnderConcurrentProducers) {
  Rig rig(2048);
  auto& [mp, factory, proto, adapter] = rig;
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
  mp.inside_call = [](Packet*) { std::this_thread::yield(); };  // widen any window
  AdapterConfig config;
  config.run_to_completion = false;
  rig.start(config);
  ASSERT_TRUE(adapter->start_worker().has_value());
  std::vector<std::vector<Packet*>> per_thread;
  for (int t = 0; t < 3; ++t) per_thread.push_back(factory.make_many(500));
  std::vector<std::thread> producers;
  for (int t = 0; t < 3; ++t)
    producers.emplace_back([&, t] {
      for (size_t i = 0; i < 500; i += 5) send_packets(proto.binding, &per_thread[t][i], 5);
    });
  for (auto& p : producers) p.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (proto.completed() < 1500 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  adapter->stop_worker();
  EXPECT_EQ(proto.completed(), 1500u);
  EXPECT_EQ(mp.max_inside.load(), 1);
}

TEST(MiniportEdge, R15_ArraysAreNeverLongerThanMaximumSendPackets) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.max_send_packets = 3;
  rig.start();
  EXPECT_EQ(adapter->maximum_send_packets(), 3u);
  auto pkts = factory.make_many(10);
  send_packets(proto.binding, pkts.data(), 10);
  ASSERT_EQ(mp.total_sent(), 10u);
  for (auto& call : mp.calls) EXPECT_LE(call.size(), 3u);
  EXPECT_EQ(mp.calls.size(), 4u);  // 3 + 3 + 3 + 1, in order
  const auto sizes = adapter->batch_size_counts();
  EXPECT_EQ(sizes[3], 3u);
  EXPECT_EQ(sizes[1], 1u);
}

TEST(MiniportEdge, R15_FailedQueryMeansOnePacketPerCall) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.answer_max_send = false;
  rig.start();
  EXPECT_EQ(adapter->maximum_send_packets(), 1u);
  auto pkts = factory.make_many(4);
  send_packets(proto.binding, pkts.data(), 4);
  EXPECT_EQ(mp.calls.size(), 4u);
}

TEST(MiniportEdge, R15_ConfiguredLimitOverridesTheMiniportAndAppliesWhenDeserialized) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.deserialized = true;
  mp.max_send_packets = 64;
  AdapterConfig config;
  config.maximum_send_packets = 5;
  rig.start(config);
  auto pkts = factory.make_many(12);
  send_packets(proto.binding, pkts.data(), 12);
  for (auto& call : mp.calls) EXPECT_LE(call.size(), 5u);
}

TEST(MiniportEdge, R16_ResourcesRequeuesTailInOrder) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.max_send_packets = 8;
  mp.decide = [](Packet*, uint32_t i, uint32_t call) {
    return call == 0 && i == 2 ? Status::resources : Status::pending;
  };
  rig.start();
  auto pkts = factory.make_many(6);
  send_packets(proto.binding, pkts.data(), 6);
  ASSERT_EQ(mp.calls.size(), 1u);  // blocked until a completion or resources-available
  EXPECT_EQ(mp.held.size(), 2u);
  send_complete(*adapter, mp.held[0], Status::success);  // a send_complete resumes the queue
  mp.held.erase(mp.held.begin());
  adapter->poll();
  ASSERT_EQ(mp.calls.size(), 2u);
  EXPECT_EQ(mp.calls[1], std::vector<Packet*>(pkts.begin() + 2, pkts.end()));
  EXPECT_EQ(adapter->counters().requeued, 4u);
  EXPECT_EQ(adapter->counters().resources_events, 1u);
}

TEST(MiniportEdge, R16_AnyOtherStatusCompletesThePacketWithIt) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.decide = [](Packet*, uint32_t i, uint32_t) {
    return i == 0 ? Status::success : i == 1 ? Status::no_cable : Status::failure;
  };
  rig.start();
  auto pkts = factory.make_many(3);
  send_packets(proto.binding, pkts.data(), 3);
  EXPECT_EQ(proto.status_of(pkts[0]), Status::success);
  EXPECT_EQ(proto.status_of(pkts[1]), Status::no_cable);
  EXPECT_EQ(proto.status_of(pkts[2]), Status::failure);
}

TEST(MiniportEdge, R16_StatusLeftUnsetCompletesWithFailureAndIsCounted) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.decide = [](Packet*, uint32_t, uint32_t) { return static_cast<Status>(0xFFFFFFFFu); };
  rig.start();
  Packet* p = factory.make();
  ASSERT_EQ(send(proto.binding, p), Status::pending);
  EXPECT_EQ(proto.status_of(p), Status::failure);
  EXPECT_EQ(adapter->counters().violations.status_unset, 1u);
}

TEST(MiniportEdge, R17_RequeuedPacketsAreNeverLostAndResourcesIsNeverFinal) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.max_send_packets = 4;
  // resources at index 0, in the middle and last, then at index 0 for many calls in a row.
  mp.decide = [](Packet*, uint32_t i, uint32_t call) {
    if (call < 3) return i == (call == 0 ? 0u : call == 1 ? 2u : 3u) ? Status::resources : Status::success;
    if (call < 20) return i == 0 ? Status::resources : Status::success;
    return Status::success;
  };
  mp.end_of_call = [&] { send_resources_available(*mp.adapter); };
  rig.start();
  auto pkts = factory.make_many(40);
  send_packets(proto.binding, pkts.data(), 40);
  ASSERT_TRUE(poll_until(*adapter, [&] { return proto.completed() == 40; }));
  for (Packet* p : pkts) {
    EXPECT_EQ(proto.count_of(p), 1);
    EXPECT_EQ(proto.status_of(p), Status::success);
  }
}

TEST(MiniportEdge, R17_WithoutASignalRequeuedPacketsWaitAndAreNotLost) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.decide = [](Packet*, uint32_t, uint32_t call) {
    return call == 0 ? Status::resources : Status::success;
  };
  rig.start();
  auto pkts = factory.make_many(3);
  send_packets(proto.binding, pkts.data(), 3);
  for (int i = 0; i < 10; ++i) adapter->poll();
  EXPECT_EQ(mp.calls.size(), 1u);  // waits: no busy resubmission
  EXPECT_EQ(adapter->counters().in_flight, 3u);
  send_resources_available(*adapter);
  adapter->poll();
  EXPECT_EQ(proto.completed(), 3u);
}

TEST(MiniportEdge, R18_DeserializedResourcesIsCountedAndThePacketStillCompletesOnce) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.deserialized = true;
  mp.decide = [](Packet*, uint32_t i, uint32_t) { return i == 1 ? Status::resources : Status::success; };
  rig.start();
  auto pkts = factory.make_many(3);
  send_packets(proto.binding, pkts.data(), 3);
  EXPECT_EQ(proto.completed(), 0u);  // statuses ignored: it must complete them itself
  EXPECT_EQ(adapter->counters().violations.deserialized_resources, 1u);
  mp.complete_held(Status::success);
  adapter->poll();
  for (Packet* p : pkts) EXPECT_EQ(proto.count_of(p), 1);
}

TEST(MiniportEdge, R8_DeserializedArraysCompletedInsideTheCallComeBackOnceInTheOrderCompleted) {
  // The direct path of a run-to-completion adapter returns a call's packets at once when the
  // miniport completed the array it was given, in order, in one or more pieces; any other
  // way (a copy, another order, single completions between, a failure) goes the general way.
  // Either way each packet comes back once, with the status it was completed with, and
  // successes in the order the miniport completed them.
  struct Way {
    const char* name;
    std::function<void(Adapter&, Packet* const*, uint32_t)> complete;
    std::vector<uint32_t> order;  // the successes, by index in the call; empty: not checked
  };
  const std::vector<Way> ways = {
      {"the array at once", [](Adapter& a, Packet* const* p, uint32_t n) { send_complete_packets(a, p, n, Status::success); },
       {0, 1, 2, 3, 4, 5, 6, 7}},
      {"the array in two pieces",
       [](Adapter& a, Packet* const* p, uint32_t n) {
         send_complete_packets(a, p, 3, Status::success);
         send_complete_packets(a, p + 3, n - 3, Status::success);
       },
       {0, 1, 2, 3, 4, 5, 6, 7}},
      {"the second piece first",
       [](Adapter& a, Packet* const* p, uint32_t n) {
         send_complete_packets(a, p + 3, n - 3, Status::success);
         send_complete_packets(a, p, 3, Status::success);
       },
       {3, 4, 5, 6, 7, 0, 1, 2}},
      {"a copy of the array",
       [](Adapter& a, Packet* const* p, uint32_t n) {
         std::vector<Packet*> copy(p, p + n);
         send_complete_packets(a, copy.data(), n, Status::success);
       },
       {0, 1, 2, 3, 4, 5, 6, 7}},
      {"a reversed copy",
       [](Adapter& a, Packet* const* p, uint32_t n) {
         std::vector<Packet*> copy(p, p + n);
         std::reverse(copy.begin(), copy.end());
         send_complete_packets(a, copy.data(), n, Status::success);
       },
       {7, 6, 5, 4, 3, 2, 1, 0}},
      {"one by send_complete, then the rest",
       [](Adapter& a, Packet* const* p, uint32_t n) {
         send_complete(a, p[0], Status::success);
         send_complete_packets(a, p + 1, n - 1, Status::success);
       },
       {0, 1, 2, 3, 4, 5, 6, 7}},
      {"one by one by send_complete, in order",
       [](Adapter& a, Packet* const* p, uint32_t n) {
         for (uint32_t i = 0; i < n; ++i) send_complete(a, p[i], Status::success);
       },
       {0, 1, 2, 3, 4, 5, 6, 7}},
      {"a piece in order, one out of order, then the rest",
       [](Adapter& a, Packet* const* p, uint32_t n) {
         send_complete_packets(a, p, 3, Status::success);
         send_complete(a, p[5], Status::success);
         send_complete_packets(a, p + 3, 2, Status::success);
         send_complete_packets(a, p + 6, n - 6, Status::success);
       },
       {0, 1, 2, 5, 3, 4, 6, 7}},
      {"the fourth failing between pieces",
       [](Adapter& a, Packet* const* p, uint32_t n) {
         send_complete_packets(a, p, 3, Status::success);
         send_complete(a, p[3], Status::failure);
         send_complete_packets(a, p + 4, n - 4, Status::success);
       },
       {}},
  };
  for (const Way& way : ways) {
    SCOPED_TRACE(way.name);
    Rig rig;
    auto& [mp, factory, proto, adapter] = rig;
    mp.deserialized = true;
    mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
    mp.with_array = [&](Packet* const* p, uint32_t n) {
      mp.held.clear();  // completed here, not later
      way.complete(*mp.adapter, p, n);
    };
    AdapterConfig config;
    config.run_to_completion = true;
    rig.start(config);
    auto pkts = factory.make_many(8);
    for (uint32_t round = 1; round <= 2; ++round) {  // the second time over packets that came back
      send_packets(proto.binding, pkts.data(), 8);
      adapter->poll();
      ASSERT_EQ(proto.completed(), 8u * round);
      for (size_t i = 0; i < pkts.size(); ++i) {
        EXPECT_EQ(proto.count_of(pkts[i]), static_cast<int>(round)) << "packet " << i;
        const bool fails = way.order.empty() && i == 3;
        EXPECT_EQ(pkts[i]->oob.status, fails ? Status::failure : Status::success) << "packet " << i;
      }
      if (way.order.empty()) continue;
      std::vector<Packet*> seen, expected;
      for (size_t i = 8 * (round - 1); i < proto.completions.size(); ++i) seen.push_back(proto.completions[i].first);
      for (uint32_t i : way.order) expected.push_back(pkts[i]);
      EXPECT_EQ(seen, expected) << "round " << round;
    }
    EXPECT_EQ(adapter->counters().in_flight, 0u);
    EXPECT_EQ(adapter->counters().violations.unexpected_completion, 0u);
  }
}

TEST(MiniportEdge, R20_AnEntryCompletedAgainInsideTheDirectCallThatCompletedItInOrderIsAViolation) {
  // The in-order completions of a direct call move only the packets' states: a second
  // completion of one of them, in the same call, as an array or alone, must still be caught.
  const std::vector<std::pair<const char*, std::function<void(Adapter&, Packet* const*, uint32_t)>>> ways = {
      {"the array, then its first piece again",
       [](Adapter& a, Packet* const* p, uint32_t n) {
         send_complete_packets(a, p, n, Status::success);
         send_complete_packets(a, p, 2, Status::success);
       }},
      {"a piece, then its first entry alone, then the rest",
       [](Adapter& a, Packet* const* p, uint32_t n) {
         send_complete_packets(a, p, 3, Status::success);
         send_complete(a, p[0], Status::failure);
         send_complete_packets(a, p + 3, n - 3, Status::success);
       }},
  };
  for (const auto& [name, complete] : ways) {
    SCOPED_TRACE(name);
    Rig rig;
    auto& [mp, factory, proto, adapter] = rig;
    mp.deserialized = true;
    mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
    mp.with_array = [&, &complete = complete](Packet* const* p, uint32_t n) {
      mp.held.clear();
      complete(*mp.adapter, p, n);
    };
    AdapterConfig config;
    config.run_to_completion = true;
    rig.start(config);
    auto pkts = factory.make_many(8);
    send_packets(proto.binding, pkts.data(), 8);
    adapter->poll();
    EXPECT_EQ(proto.completed(), 8u);
    for (size_t i = 0; i < pkts.size(); ++i) {
      EXPECT_EQ(proto.count_of(pkts[i]), 1) << "packet " << i;
      EXPECT_EQ(pkts[i]->oob.status, Status::success) << "packet " << i;
    }
    EXPECT_GE(adapter->counters().violations.unexpected_completion, 1u);
    EXPECT_EQ(adapter->counters().in_flight, 0u);
  }
}

TEST(MiniportEdge, R8_AnEarlierCallsPacketsCompletedInsideADirectCallAreTheOnesThatComeBack) {
  // As many packets completed inside the call as it was given, but an earlier call's: those
  // come back, and the call's own stay in flight until the miniport completes them.
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.deserialized = true;
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
  std::vector<Packet*> earlier;
  mp.with_array = [&](Packet* const* p, uint32_t n) {
    if (earlier.empty()) {  // the first call: held, completed in the next one
      earlier.assign(p, p + n);
      mp.held.clear();
      return;
    }
    send_complete_packets(*mp.adapter, earlier.data(), static_cast<uint32_t>(earlier.size()), Status::success);
  };  // this call's packets stay held
  AdapterConfig config;
  config.run_to_completion = true;
  rig.start(config);
  auto first = factory.make_many(8), second = factory.make_many(8);
  send_packets(proto.binding, first.data(), 8);
  EXPECT_EQ(proto.completed(), 0u);
  send_packets(proto.binding, second.data(), 8);
  adapter->poll();
  EXPECT_EQ(proto.completed(), 8u);
  for (Packet* p : first) EXPECT_EQ(proto.count_of(p), 1);
  for (Packet* p : second) EXPECT_EQ(proto.count_of(p), 0);
  EXPECT_EQ(adapter->counters().in_flight, 8u);
  mp.with_array = nullptr;
  mp.complete_held(Status::success);
  adapter->poll();
  for (Packet* p : second) EXPECT_EQ(proto.count_of(p), 1);
  EXPECT_EQ(adapter->counters().in_flight, 0u);
}

TEST(MiniportEdge, R19_SingleSendSuccessPendingResourcesAndFailure) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.offer_send_packets = false;
  mp.offer_send = true;
  mp.max_send_packets = 8;
  mp.decide = [](Packet*, uint32_t, uint32_t call) {
    switch (call) {
      case 0: return Status::success;
      case 1: return Status::pending;
      case 2: return Status::resources;
      case 3: return Status::resources;  // the retry of the same packet
      default: return Status::failure;
    }
  };
  rig.start();
  auto pkts = factory.make_many(4);
  send_packets(proto.binding, pkts.data(), 4);
  EXPECT_EQ(proto.status_of(pkts[0]), Status::success);
  EXPECT_EQ(proto.count_of(pkts[1]), 0);  // pending
  EXPECT_EQ(mp.calls.size(), 3u);
  EXPECT_EQ(mp.calls[2][0], pkts[2]);
  send_resources_available(*adapter);
  adapter->poll();
  EXPECT_EQ(mp.calls[3][0], pkts[2]);  // resubmitted from the head
  send_resources_available(*adapter);
  adapter->poll();
  EXPECT_EQ(proto.status_of(pkts[2]), Status::failure);
  EXPECT_EQ(proto.status_of(pkts[3]), Status::failure);
  mp.complete_held(Status::success);
  adapter->poll();
  EXPECT_EQ(proto.status_of(pkts[1]), Status::success);
}

TEST(MiniportEdge, R20_ForeignDoubleAndNeverPendedCompletionsAreDetectedNotDelivered) {
  FakeMiniport mp, other_mp;
  PacketFactory factory;
  RecordingProtocol proto, other_proto;
  auto adapter = mp.make_adapter();
  auto other = other_mp.make_adapter();
  proto.open(*adapter);
  other_proto.open(*other);
  Packet* a = factory.make();
  Packet* b = factory.make();
  ASSERT_EQ(send(proto.binding, a), Status::pending);
  ASSERT_EQ(send(other_proto.binding, b), Status::pending);
  send_complete(*adapter, b, Status::success);  // another adapter's packet
  send_complete(*adapter, nullptr, Status::success);
  Packet* never = factory.make();
  send_complete(*adapter, never, Status::success);  // never submitted
  send_complete(*adapter, a, Status::success);
  send_complete(*adapter, a, Status::success);  // double (before delivery)
  adapter->poll();
  send_complete(*adapter, a, Status::success);  // after delivery
  adapter->poll();
  EXPECT_EQ(proto.count_of(a), 1);
  EXPECT_EQ(proto.count_of(b), 0);
  EXPECT_EQ(proto.count_of(never), 0);
  const auto v = adapter->counters().violations;
  EXPECT_EQ(v.foreign_completion, 3u);  // b, null, never (not stamped for this adapter)
  EXPECT_EQ(v.unexpected_completion, 2u);
  other_mp.complete_held(Status::success);
  other->poll();
  EXPECT_EQ(other_proto.count_of(b), 1);
}

// The worker answers a serialized miniport's successes in handler calls that gather several
// arrays: a packet waiting there is already finished, so a second completion of it (here
// from inside the next array's call) is refused, not delivered twice.
TEST(MiniportEdge, R20_SecondCompletionOfAPacketWaitingToBeDeliveredIsRefused) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.max_send_packets = 1;  // one array per packet
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
  Packet* first = factory.make();
  Packet* second = factory.make();
  mp.inside_call = [&](Packet* p) {
    if (p == second) send_complete(*adapter, first, Status::success);  // first's double
  };
  AdapterConfig config;
  config.run_to_completion = false;  // the queued path; this thread polls as the worker
  rig.start(config);
  Packet* both[] = {first, second};
  send_packets(proto.binding, both, 2);
  adapter->poll();
  adapter->poll();
  EXPECT_EQ(mp.calls.size(), 2u);
  EXPECT_EQ(proto.count_of(first), 1);
  EXPECT_EQ(proto.count_of(second), 1);
  EXPECT_EQ(adapter->counters().violations.unexpected_completion, 1u);
}

TEST(MiniportEdge, R20_DoubleCompletionFromAnotherThreadIsRefusedOnce) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start();
  Packet* p = factory.make();
  ASSERT_EQ(send(proto.binding, p), Status::pending);
  std::thread t1([&] { send_complete(*adapter, p, Status::success); });
  std::thread t2([&] { send_complete(*adapter, p, Status::success); });
  t1.join();
  t2.join();
  adapter->poll();
  EXPECT_EQ(proto.count_of(p), 1);
  EXPECT_EQ(adapter->counters().violations.unexpected_completion, 1u);
}

// The ABA case. As in NDIS, a completion names a packet by its address only, so a stray
// (duplicate) completion arriving after the packet was completed and sent again cannot be
// told from the completion of the new submission: it completes that one early. What R20 still
// guarantees: the protocol gets exactly one completion per submission, and the miniport's own
// later completion of the new submission is caught and counted as a double, never delivered.
// (The DPDK miniport cannot produce such a stray: a slot forgets its packet when it completes.)
TEST(MiniportEdge, R20_StrayCompletionRacingAResubmissionIsCaughtAtTheRealOne) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start();
  Packet* p = factory.make();
  ASSERT_EQ(send(proto.binding, p), Status::pending);
  mp.complete_held(Status::success);  // first submission completes...
  adapter->poll();
  ASSERT_EQ(proto.count_of(p), 1);
  ASSERT_EQ(send(proto.binding, p), Status::pending);  // ...and the protocol sends it again
  ASSERT_EQ(mp.held.size(), 1u);
  send_complete(*adapter, p, Status::success);  // the stray duplicate of the first completion
  adapter->poll();
  EXPECT_EQ(proto.count_of(p), 2);
  EXPECT_EQ(adapter->counters().violations.unexpected_completion, 0u);  // indistinguishable
  mp.complete_held(Status::success);  // the device's real completion of the second send
  adapter->poll();
  EXPECT_EQ(proto.count_of(p), 2);  // once per submission, never more
  EXPECT_EQ(adapter->counters().violations.unexpected_completion, 1u);
  EXPECT_EQ(adapter->counters().in_flight, 0u);
}

TEST(MiniportEdge, R21_ResourcesAvailableIsHarmlessIdleAndDoesNotRecurse) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start();
  send_resources_available(*adapter);  // nothing queued
  adapter->poll();
  EXPECT_TRUE(mp.calls.empty());
  int depth = 0, max_depth = 0;
  mp.decide = [](Packet*, uint32_t, uint32_t call) {
    return call < 50 ? Status::resources : Status::success;
  };
  mp.end_of_call = [&] {
    max_depth = std::max(max_depth, ++depth);
    send_resources_available(*adapter);  // from inside send_packets
    --depth;
  };
  auto pkts = factory.make_many(2);
  send_packets(proto.binding, pkts.data(), 2);
  ASSERT_TRUE(poll_until(*adapter, [&] { return proto.completed() == 2; }));
  EXPECT_EQ(max_depth, 1);
  EXPECT_GE(mp.calls.size(), 51u);
}

TEST(MiniportEdge, R22_PendingOrResourcesAsFinalStatusBecomesFailure) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start();
  auto pkts = factory.make_many(3);
  send_packets(proto.binding, pkts.data(), 3);
  send_complete(*adapter, pkts[0], Status::pending);
  send_complete(*adapter, pkts[1], Status::resources);
  send_complete(*adapter, pkts[2], static_cast<Status>(0x1234));
  adapter->poll();
  for (Packet* p : pkts) EXPECT_EQ(proto.status_of(p), Status::failure);
  EXPECT_EQ(adapter->counters().violations.bad_final_status, 3u);
}

TEST(MiniportEdge, R23_APacketPendingPastTheTimeoutGoesThroughResetAndCompletesOnce) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  AdapterConfig config;
  config.send_timeout_ns = 20'000'000;  // 20 ms
  rig.start(config);
  Packet* p = factory.make();
  ASSERT_EQ(send(proto.binding, p), Status::pending);  // the fake never completes it
  ASSERT_TRUE(poll_until(*adapter, [&] { return proto.completed() == 1; }, 3000));
  EXPECT_EQ(proto.status_of(p), Status::reset_in_progress);
  EXPECT_EQ(mp.resets, 1u);
  EXPECT_EQ(adapter->counters().violations.hangs, 1u);
  ASSERT_GE(proto.indications.size(), 2u);
  EXPECT_EQ(proto.indications.front(), Indication::reset_start);
}

}  // namespace
}  // namespace pkio
