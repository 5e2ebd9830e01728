// The dispatcher's verifier mode (issue 4): the legal transitions, the census, and each
// violation kept with the packet it concerns. Also run: RandomSchedules with the verifier on
// for every other seed, which must see no illegal transition from the framework itself.
#include <thread>

#include "dispatcher/verifier.h"
#include "fake_miniport.h"
#include "poll_until.h"

namespace pkio {
namespace {

using testing_support::poll_until;
using testing_support::Rig;

AdapterConfig with_verifier() {
  AdapterConfig c;
  c.verifier = true;
  return c;
}

bool kept(const VerifierReport& r, std::string_view what, const Packet* p) {
  for (const VerifierEvent& e : r.recent)
    if (e.what == what && e.packet == p) return true;
  return false;
}

using S = PacketState;
static_assert(legal_transition(S::protocol, S::queued) && legal_transition(S::queued, S::in_miniport) &&
              legal_transition(S::in_miniport, S::pending) && legal_transition(S::pending, S::completing) &&
              legal_transition(S::completing, S::protocol) && legal_transition(S::in_miniport, S::queued));
static_assert(!legal_transition(S::pending, S::queued) && !legal_transition(S::queued, S::queued) &&
              !legal_transition(S::completing, S::completing) && !legal_transition(S::protocol, S::protocol) &&
              !legal_transition(S::free, S::queued) && !legal_transition(S::pending, S::protocol));

TEST(Verifier, OffByDefaultAndReportsNothing) {
  Rig rig;
  rig.start();
  EXPECT_FALSE(rig.adapter->verifier_report().enabled);
  EXPECT_EQ(format_verifier_report(rig.adapter->verifier_report()), "verifier: off\n");
}

TEST(Verifier, CleanRunChecksEveryTransitionAndTheCensusFollowsThePackets) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start(with_verifier());
  auto pkts = factory.make_many(20);
  mp.decide = [](Packet*, uint32_t i, uint32_t call) {
    return call == 0 && i == 5 ? Status::resources : i % 2 ? Status::success : Status::pending;
  };
  send_packets(proto.binding, pkts.data(), 20);
  VerifierReport r = adapter->verifier_report();
  const auto& census = r.census;
  EXPECT_EQ(census[static_cast<unsigned>(S::pending)], static_cast<int64_t>(mp.held.size()));
  EXPECT_EQ(census[static_cast<unsigned>(S::pending)] + census[static_cast<unsigned>(S::queued)] +
                census[static_cast<unsigned>(S::in_miniport)] + census[static_cast<unsigned>(S::completing)],
            static_cast<int64_t>(20 - proto.completed()));
  send_resources_available(*adapter);
  ASSERT_TRUE(poll_until(*adapter, [&] {
    mp.complete_held(Status::success);
    return proto.completed() == 20;
  }));
  r = adapter->verifier_report();
  EXPECT_TRUE(r.enabled);
  EXPECT_GE(r.transitions, 20u * 3);  // queued, in_miniport, ..., protocol for each
  EXPECT_EQ(r.illegal, 0u);
  EXPECT_EQ(r.events, 0u);
  for (const int64_t n : r.census) EXPECT_EQ(n, 0);
}

TEST(Verifier, R20_DoubleAndForeignCompletionsAreKeptWithTheirPacket) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start(with_verifier());
  Packet* p = factory.make();
  Packet* never = factory.make();
  ASSERT_EQ(send(proto.binding, p), Status::pending);
  send_complete(*adapter, p, Status::success);
  send_complete(*adapter, p, Status::success);  // double
  send_complete(*adapter, never, Status::success);  // never submitted here
  adapter->poll();
  EXPECT_EQ(proto.count_of(p), 1);
  const VerifierReport r = adapter->verifier_report();
  EXPECT_TRUE(kept(r, "unexpected_completion", p));
  EXPECT_TRUE(kept(r, "foreign_completion", never));
  EXPECT_EQ(r.illegal, 0u);  // detected before any state changed
  const std::string text = format_verifier_report(r);
  EXPECT_NE(text.find("unexpected_completion"), std::string::npos) << text;
}

TEST(Verifier, R22_PendingOrResourcesAsFinalStatusIsKept) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start(with_verifier());
  auto pkts = factory.make_many(2);
  send_packets(proto.binding, pkts.data(), 2);
  send_complete(*adapter, pkts[0], Status::pending);
  send_complete(*adapter, pkts[1], Status::resources);
  adapter->poll();
  const VerifierReport r = adapter->verifier_report();
  EXPECT_TRUE(kept(r, "bad_final_status", pkts[0]));
  EXPECT_TRUE(kept(r, "bad_final_status", pkts[1]));
  EXPECT_EQ(proto.status_of(pkts[0]), Status::failure);
}

TEST(Verifier, ResubmittingAPacketInFlightIsCountedAndKeptAndChangesNothing) {
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  rig.start(with_verifier());
  Packet* p = factory.make();
  ASSERT_EQ(send(proto.binding, p), Status::pending);  // pending in the miniport
  EXPECT_EQ(send(proto.binding, p), Status::failure);
  Packet* twice[] = {p, p};
  send_packets(proto.binding, twice, 2);
  EXPECT_EQ(adapter->counters().violations.resubmitted_in_flight, 3u);
  VerifierReport r = adapter->verifier_report();
  EXPECT_TRUE(kept(r, "resubmitted_in_flight", p));
  EXPECT_EQ(r.recent.back().from, S::pending);
  mp.complete_held(Status::success);
  adapter->poll();
  EXPECT_EQ(proto.count_of(p), 1);
  r = adapter->verifier_report();
  EXPECT_EQ(r.illegal, 0u);
  for (const int64_t n : r.census) EXPECT_EQ(n, 0);
}

TEST(Verifier, AStateWrittenBehindTheFrameworksBackIsAnIllegalTransition) {
  // Memory corruption, or a protocol writing the framework's bookkeeping: the packet is
  // queued but its state says pending. Handing it to the miniport is then pending ->
  // in_miniport, which the verifier must catch (the packet still completes once).
  Rig rig;
  auto& [mp, factory, proto, adapter] = rig;
  AdapterConfig config = with_verifier();
  config.run_to_completion = false;
  rig.start(config);
  Packet* p = factory.make();
  ASSERT_EQ(send(proto.binding, p), Status::pending);  // queued, not yet dispatched
  p->tracking.state.store(S::pending);
  mp.decide = [](Packet*, uint32_t, uint32_t) { return Status::success; };
  ASSERT_TRUE(poll_until(*adapter, [&] { return proto.completed() == 1; }));
  const VerifierReport r = adapter->verifier_report();
  EXPECT_EQ(r.illegal, 1u);
  EXPECT_EQ(r.illegal_by_transition[static_cast<unsigned>(S::pending)][static_cast<unsigned>(S::in_miniport)], 1u);
  EXPECT_TRUE(kept(r, "illegal_transition", p));
  EXPECT_NE(format_verifier_report(r).find("illegal pending -> in_miniport: 1"), std::string::npos);
}

}  // namespace
}  // namespace pkio
