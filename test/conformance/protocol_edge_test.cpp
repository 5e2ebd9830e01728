// Contract R1-R12: the protocol edge (send, send_packets, ownership, order, completion
// routing, handlers, invalid packets, close, reset).
#include <chrono>
#include <thread>

#include "fake_miniport.h"
#include "poll_until.h"

namespace pkio {
namespace {

using testing_support::FakeMiniport;
using testing_support::PacketFactory;
using testing_support::RecordingProtocol;
using testing_support::Rig;
using testing_support::poll_until;

struct ProtocolEdge : ::testing::Test {
  FakeMiniport mp;
  PacketFactory factory;
  RecordingProtocol proto;
  std::unique_ptr<Adapter> adapter;
  void SetUp() override {
    adapter = mp.make_adapter();
    proto.open(*adapter);
  }
};

TEST_F(ProtocolEdge, R1_SendReturnsPendingThenExactlyOneCompletion) {
  Packet* p = factory.make();
  EXPECT_EQ(send(proto.binding, p), Status::pending);
  EXPECT_EQ(proto.completed(), 0u);
  ASSERT_EQ(mp.held.size(), 1u);
  mp.complete_held(Status::success);
  adapter->poll();
  adapter->poll();
  EXPECT_EQ(proto.count_of(p), 1);
  EXPECT_EQ(proto.status_of(p), Status::success);
}

TEST_F(ProtocolEdge, R1_SendFinishedAtOnceHasNoCompletion) {
  Packet* empty = nullptr;
  ASSERT_EQ(factory.packets->allocate(empty), Status::success);
  EXPECT_EQ(send(proto.binding, empty), Status::invalid_packet);
  for (int i = 0; i < 5; ++i) adapter->poll();
  EXPECT_EQ(proto.completed(), 0u);
  EXPECT_EQ(adapter->counters().rejected_sync, 1u);
  EXPECT_EQ(factory.packets->free(empty), Status::success);  // still the protocol's
}

TEST_F(ProtocolEdge, R2_SendPacketsCompletesEveryPacketOnceIncludingImmediateFailures) {
  auto pkts = factory.make_many(5);
  Packet* empty = nullptr;
  ASSERT_EQ(factory.packets->allocate(empty), Status::success);
  pkts.insert(pkts.begin() + 2, empty);
  send_packets(proto.binding, pkts.data(), static_cast<uint32_t>(pkts.size()));
  mp.complete_held(Status::success);
  ASSERT_TRUE(poll_until(*adapter, [&] { return proto.completed() == 6; }));
  for (Packet* p : pkts) EXPECT_EQ(proto.count_of(p), 1);
  EXPECT_EQ(proto.status_of(empty), Status::invalid_packet);
  EXPECT_EQ(proto.status_of(pkts[0]), Status::success);
}

TEST_F(ProtocolEdge, R3_ZeroCountOrNullArrayDoesNothing) {
  auto pkts = factory.make_many(2);
  send_packets(proto.binding, pkts.data(), 0);
  send_packets(proto.binding, nullptr, 5);
  adapter->poll();
  EXPECT_TRUE(mp.calls.empty());
  EXPECT_EQ(adapter->counters().submitted, 0u);
  EXPECT_EQ(factory.packets->free(pkts[0]) , Status::success);  // never taken
}

TEST_F(ProtocolEdge, R4_FrameworkOwnsThePacketUntilCompletion) {
  Packet* p = factory.make();
  ASSERT_EQ(send(proto.binding, p), Status::pending);
  EXPECT_NE(p->tracking.state.load(), PacketState::protocol);
  EXPECT_EQ(factory.packets->free(p), Status::failure);  // cannot free a packet in flight
  EXPECT_EQ(send(proto.binding, p), Status::failure);    // nor resubmit it
  mp.complete_held(Status::success);
  adapter->poll();
  EXPECT_EQ(p->tracking.state.load(), PacketState::protocol);
  EXPECT_EQ(proto.count_of(p), 1);
  factory.release(p);  // the buffers came back with it
}

TEST_F(ProtocolEdge, R5_CompletionGoesToTheSubmittingBindingForBothEntryPoints) {
  RecordingProtocol other;
  other.open(*adapter);
  Packet* a = factory.make();
  Packet* b = factory.make();
  Packet* c = factory.make();
  ASSERT_EQ(send(proto.binding, a), Status::pending);
  send_packets(other.binding, &b, 1);
  ASSERT_EQ(send(other.binding, c), Status::pending);
  mp.complete_held(Status::success, /*reverse=*/true);
  adapter->poll();
  EXPECT_EQ(proto.count_of(a), 1);
  EXPECT_EQ(proto.count_of(b), 0);
  EXPECT_EQ(other.count_of(b), 1);
  EXPECT_EQ(other.count_of(c), 1);
  EXPECT_EQ(other.count_of(a), 0);
}

TEST_F(ProtocolEdge, R7_AnyCompletionOrderIsDeliveredExactlyOnce) {
  auto pkts = factory.make_many(16);
  send_packets(proto.binding, pkts.data(), 16);
  ASSERT_EQ(mp.held.size(), 16u);
  std::swap(mp.held[3], mp.held[11]);
  mp.complete_held(Status::success, /*reverse=*/true);
  adapter->poll();
  for (Packet* p : pkts) EXPECT_EQ(proto.count_of(p), 1);
}

TEST_F(ProtocolEdge, R8_InlineCompletionBeforeSendPacketsReturnsIsDeliveredOnce) {
  mp.inside_call = [&](Packet* p) { send_complete(*adapter, p, Status::success); };
  auto pkts = factory.make_many(8);
  send_packets(proto.binding, pkts.data(), 8);
  adapter->poll();
  for (Packet* p : pkts) EXPECT_EQ(proto.count_of(p), 1);
  EXPECT_EQ(adapter->counters().violations.unexpected_completion, 0u);
}

TEST_F(ProtocolEdge, R8_CompletionRacingTheReturnFromAnotherThreadIsDeliveredOnce) {
  for (int round = 0; round < 200; ++round) {
    std::vector<std::thread> racers;
    mp.inside_call = [&](Packet* p) {
      racers.emplace_back([&, p] { send_complete(*adapter, p, Status::success); });
    };
    mp.end_of_call = [&] {
      for (auto& t : racers) t.join();  // some finish during the call, some race its return
      racers.clear();
    };
    auto pkts = factory.make_many(4);
    proto.times_completed.clear();  // packets are reused from round to round
    send_packets(proto.binding, pkts.data(), 4);
    mp.held.clear();
    ASSERT_TRUE(poll_until(*adapter, [&] { return binding_outstanding(proto.binding) == 0; }));
    for (Packet* p : pkts) {
      ASSERT_EQ(proto.count_of(p), 1);
      factory.release(p);
    }
  }
  EXPECT_EQ(adapter->counters().violations.unexpected_completion, 0u);
}

TEST_F(ProtocolEdge, R9_HandlerMaySendAgainFreeAndClose) {
  mp.inside_call = [&](Packet* p) { send_complete(*adapter, p, Status::success); };
  std::map<Packet*, int> resent;
  Status close_status = Status::success;
  int completions = 0;
  proto.on_complete = [&](Packet* p) {
    ++completions;
    if (resent[p]++ == 0) {
      EXPECT_EQ(send(proto.binding, p), Status::pending);  // re-enters the framework
    } else {
      factory.release(p);  // frees from inside the handler
      if (completions == 8) close_status = close_adapter(proto.binding);
    }
  };
  auto pkts = factory.make_many(4);
  send_packets(proto.binding, pkts.data(), 4);
  ASSERT_TRUE(poll_until(*adapter, [&] { return completions == 8; }));
  // From inside a handler close cannot wait (the packets being delivered are still the
  // framework's until it returns): it answers pending and the binding is closed from then on.
  EXPECT_EQ(close_status, Status::pending);
  EXPECT_EQ(binding_outstanding(proto.binding), 0u);
  EXPECT_EQ(factory.packets->available(), factory.packets->capacity());
  Packet* late = factory.make();
  EXPECT_EQ(send(proto.binding, late), Status::closing);
}

TEST_F(ProtocolEdge, R2_EntriesLeftOutOfAnArrayNeverReachTheMiniportAndTheRestKeepTheirOrder) {
  // The run-to-completion path hands the caller's array itself to the miniport while every
  // entry goes; one left out (invalid, twice in the array, null) must switch it to a copy.
  auto pkts = factory.make_many(3);
  Packet* too_long = factory.make(1515);
  Packet* batch[] = {pkts[0], too_long, pkts[1], pkts[0], nullptr, pkts[2]};
  send_packets(proto.binding, batch, 6);
  ASSERT_EQ(mp.calls.size(), 1u);
  EXPECT_EQ(mp.calls[0], (std::vector<Packet*>{pkts[0], pkts[1], pkts[2]}));
  mp.complete_held(Status::success);
  ASSERT_TRUE(poll_until(*adapter, [&] { return proto.completed() == 4; }));
  for (Packet* p : pkts) EXPECT_EQ(proto.count_of(p), 1);
  EXPECT_EQ(proto.status_of(too_long), Status::invalid_packet);
  EXPECT_EQ(adapter->counters().violations.rejected_entries, 2u);  // the repeat and the null
}

TEST_F(ProtocolEdge, R10_InvalidPacketsFailAndNeverReachTheMiniport) {
  Packet* zero = factory.make(0);
  Packet* too_long = factory.make(1515);
  Packet* reserved_bits = factory.make(64);
  reserved_bits->ieee8021q.value = 0x10000;
  Packet* empty = nullptr;
  ASSERT_EQ(factory.packets->allocate(empty), Status::success);
  for (Packet* p : {zero, too_long, reserved_bits, empty})
    EXPECT_EQ(send(proto.binding, p), Status::invalid_packet);
  Packet* batch[] = {zero, too_long, reserved_bits, empty};
  send_packets(proto.binding, batch, 4);
  adapter->poll();
  EXPECT_TRUE(mp.calls.empty());
  for (Packet* p : batch) EXPECT_EQ(proto.status_of(p), Status::invalid_packet);
  Packet* max = factory.make(1514);
  EXPECT_EQ(send(proto.binding, max), Status::pending);  // exactly the limit is fine
}

TEST_F(ProtocolEdge, R11_CloseWaitsForOutstandingPacketsThenSendsGetClosing) {
  auto pkts = factory.make_many(3);
  send_packets(proto.binding, pkts.data(), 3);
  ASSERT_EQ(mp.held.size(), 3u);
  std::atomic<bool> closed{false};
  std::thread completer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(closed.load());  // close is still waiting
    mp.complete_held(Status::success);
  });
  EXPECT_EQ(close_adapter(proto.binding), Status::success);
  closed = true;
  completer.join();
  for (Packet* p : pkts) EXPECT_EQ(proto.count_of(p), 1);
  Packet* p = factory.make();
  EXPECT_EQ(send(proto.binding, p), Status::closing);
  send_packets(proto.binding, &p, 1);
  adapter->poll();
  EXPECT_EQ(proto.status_of(p), Status::closing);
}

TEST_F(ProtocolEdge, R12_ResetCompletesPendingOnceAndIndicatesStartThenEnd) {
  auto pkts = factory.make_many(4);
  send_packets(proto.binding, pkts.data(), 4);
  ASSERT_EQ(mp.held.size(), 4u);
  Status during = Status::success;
  mp.on_reset = [&] {
    Packet* p = factory.make();
    during = send(proto.binding, p);
    return Status::success;
  };
  EXPECT_EQ(adapter->reset(), Status::success);
  EXPECT_EQ(during, Status::reset_in_progress);
  for (Packet* p : pkts) {
    EXPECT_EQ(proto.count_of(p), 1);
    EXPECT_EQ(proto.status_of(p), Status::reset_in_progress);
  }
  ASSERT_EQ(proto.indications.size(), 2u);
  EXPECT_EQ(proto.indications[0], Indication::reset_start);
  EXPECT_EQ(proto.indications[1], Indication::reset_end);
  // The miniport completing them late is a violation, never a second delivery.
  mp.complete_held(Status::success);
  adapter->poll();
  for (Packet* p : pkts) EXPECT_EQ(proto.count_of(p), 1);
  EXPECT_EQ(adapter->counters().violations.unexpected_completion, 4u);
  Packet* after = factory.make();
  EXPECT_EQ(send(proto.binding, after), Status::pending);
}

TEST(ProtocolEdgeDeserialized, R12_DeserializedResetUsesRequestAborted) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  mp.deserialized = true;
  rig.start();
  auto pkts = factory.make_many(3);
  send_packets(proto.binding, pkts.data(), 3);
  EXPECT_EQ(adapter->reset(), Status::success);
  for (Packet* p : pkts) EXPECT_EQ(proto.status_of(p), Status::request_aborted);
}

TEST_F(ProtocolEdge, R12_QueuedPacketsAtResetCompleteWithResetInProgress) {
  mp.decide = [](Packet*, uint32_t i, uint32_t) { return i == 0 ? Status::resources : Status::pending; };
  auto pkts = factory.make_many(3);
  send_packets(proto.binding, pkts.data(), 3);  // all requeued, waiting for resources
  EXPECT_EQ(adapter->reset(), Status::success);
  for (Packet* p : pkts) EXPECT_EQ(proto.status_of(p), Status::reset_in_progress);
}

}  // namespace
}  // namespace pkio
