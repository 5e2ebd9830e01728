// DPDK faults from contract.md's list, each on a real net_ring port: tx_burst returning 0
// forever, a poison packet the PMD never takes, an empty mbuf pool, invalid port and queue
// ids. After each: nothing lost, nothing completed twice, the pool back at its level, no hang
// past the adapter's send timeout. (Partial bursts, a consumer that never frees, link down,
// reset under load and SIGTERM are in dpdk_miniport_test.cpp, soak_test.cpp and the apps tests.)
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <chrono>

#include "dpdk_harness.h"

namespace pkio {
namespace {

using testing_support::consume;
using testing_support::DpdkHarness;
using testing_support::frame_bytes;
using testing_support::Frames;
using testing_support::packet_over;
using testing_support::PacketFactory;
using testing_support::poll_until;
using testing_support::RingPort;
using testing_support::unique_name;

constexpr uint64_t timeout_ns = 50'000'000;  // the adapters' send timeout here: 50 ms
constexpr uint8_t poison_marker = 0xBA;       // first byte of a frame the "device" never takes

uint16_t refuse_everything(uint16_t, uint16_t, rte_mbuf**, uint16_t, void*) { return 0; }

/// Takes packets up to the first poison frame, which stays at the head of the queue forever.
uint16_t stop_at_poison(uint16_t, uint16_t, rte_mbuf** ms, uint16_t n, void*) {
  for (uint16_t i = 0; i < n; ++i)
    if (*rte_pktmbuf_mtod(ms[i], const uint8_t*) == poison_marker) return i;
  return n;
}

AdapterConfig short_timeout() {
  AdapterConfig ac;
  ac.send_timeout_ns = timeout_ns;
  return ac;
}

/// A net_ring port with an adapter (50 ms send timeout) and a TX callback in front of the
/// PMD playing the faulty device; the pool's level is taken before anything is sent.
struct FaultyRing {
  RingPort ring;
  PacketFactory factory{128};
  DpdkHarness h;
  unsigned pool_before = 0;
  const rte_eth_rxtx_callback* callback = nullptr;
  FaultyRing(const char* name, rte_tx_callback_fn device) : ring(unique_name(name)) {
    h.open(ring.port_id, {}, short_timeout());
    pool_before = rte_mempool_avail_count(h.port().mempool());
    callback = rte_eth_add_tx_callback(ring.port_id, 0, device, nullptr);
    EXPECT_NE(callback, nullptr);
  }
  void heal() { EXPECT_EQ(rte_eth_remove_tx_callback(ring.port_id, 0, callback), 0); }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST(DpdkFaults, TxBurstReturningZeroForeverEndsAtTheTimeoutAndEveryPacketCompletesOnce) {
  FaultyRing faulty("ring_zero", refuse_everything);
  auto& [ring, f, h, pool_before, cb] = faulty;
  Frames frames(40, 64);
  std::vector<Packet*> pkts;
  for (auto& frame : frames.data) pkts.push_back(packet_over(f, frame));
  const auto start = std::chrono::steady_clock::now();
  send_packets(h.proto.binding, pkts.data(), static_cast<uint32_t>(pkts.size()));
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == pkts.size(); }, 5000));
  EXPECT_LT(seconds_since(start), 1.0);  // the 50 ms timeout, not a hang
  for (Packet* p : pkts) {
    EXPECT_EQ(h.proto.count_of(p), 1);
    EXPECT_EQ(h.proto.status_of(p), Status::reset_in_progress);
  }
  const auto c = h.adapter().counters();
  EXPECT_GE(c.violations.hangs, 1u);
  EXPECT_EQ(c.in_flight, 0u);
  EXPECT_EQ(h.miniport().stats().accepted, 0u);
  EXPECT_EQ(rte_ring_count(ring.tx), 0u);
  EXPECT_EQ(rte_mempool_avail_count(h.port().mempool()), pool_before);
  h.expect_all_slots_spare();
  // The device comes back: the same packets go through.
  faulty.heal();
  send_packets(h.proto.binding, pkts.data(), static_cast<uint32_t>(pkts.size()));
  const auto got = ring.take();
  ASSERT_EQ(got.size(), pkts.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(frame_bytes(got[i]), frames.data[i]);
    rte_pktmbuf_free(got[i]);
  }
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 2 * pkts.size(); }));
  for (size_t i = pkts.size(); i < h.proto.completions.size(); ++i)
    EXPECT_EQ(h.proto.completions[i].second, Status::success);
}

TEST(DpdkFaults, PoisonPacketAtTheHeadOfTheQueueIsTimedOutAndNothingBehindItIsLost) {
  FaultyRing faulty("ring_poison", stop_at_poison);
  auto& [ring, f, h, pool_before, cb] = faulty;
  Frames frames(21, 64);
  frames.data[10][0] = poison_marker;
  for (size_t i = 0; i < frames.data.size(); ++i)
    if (i != 10 && frames.data[i][0] == poison_marker) frames.data[i][0] = 0;
  std::vector<Packet*> pkts;
  for (auto& frame : frames.data) pkts.push_back(packet_over(f, frame));
  const auto start = std::chrono::steady_clock::now();
  send_packets(h.proto.binding, pkts.data(), static_cast<uint32_t>(pkts.size()));
  std::vector<rte_mbuf*> got;
  ASSERT_TRUE(poll_until(h.adapter(), [&] {
    for (auto* m : ring.take()) got.push_back(m);
    for (auto* m : got) rte_pktmbuf_free(m);  // the consumer keeps up
    got.clear();
    return h.proto.completed() == pkts.size();
  }, 5000));
  EXPECT_LT(seconds_since(start), 1.0);
  for (size_t i = 0; i < pkts.size(); ++i) {
    EXPECT_EQ(h.proto.count_of(pkts[i]), 1) << i;
    // Before the poison: sent. The poison and what queued behind it: completed by the reset.
    EXPECT_EQ(h.proto.status_of(pkts[i]), i < 10 ? Status::success : Status::reset_in_progress) << i;
  }
  EXPECT_EQ(h.miniport().stats().accepted, 10u);
  EXPECT_GE(h.adapter().counters().violations.hangs, 1u);
  faulty.heal();
  EXPECT_EQ(rte_mempool_avail_count(h.port().mempool()), pool_before);
  h.expect_all_slots_spare();
}

TEST(DpdkFaults, EmptyMbufPoolGivesResourcesAndEverythingCompletesOnceInOrderWhenMbufsReturn) {
  RingPort ring(unique_name("ring_nombuf"));
  PacketFactory f(128);
  DpdkHarness h;
  dpdk::MiniportConfig mc;
  mc.completion = dpdk::CompletionMode::on_accept;  // copies: one fresh mbuf per packet
  h.open(ring.port_id, mc);
  const unsigned pool_before = rte_mempool_avail_count(h.port().mempool());
  std::vector<rte_mbuf*> hoard;  // another user of the pool took every mbuf
  while (rte_mbuf* m = rte_pktmbuf_alloc(h.port().mempool())) hoard.push_back(m);
  ASSERT_FALSE(hoard.empty());
  Frames frames(50, 100);
  std::vector<Packet*> pkts;
  for (auto& frame : frames.data) pkts.push_back(packet_over(f, frame, 2));
  send_packets(h.proto.binding, pkts.data(), static_cast<uint32_t>(pkts.size()));
  for (int i = 0; i < 20; ++i) h.adapter().poll();
  EXPECT_EQ(h.proto.completed(), 0u);  // nothing completes, nothing fails
  EXPECT_GT(h.miniport().stats().mbuf_exhausted, 0u);
  EXPECT_GT(h.adapter().counters().resources_events, 0u);
  for (rte_mbuf* m : hoard) rte_pktmbuf_free(m);
  std::vector<std::vector<uint8_t>> seen;
  ASSERT_TRUE(poll_until(h.adapter(), [&] {
    consume(ring, seen);
    return h.proto.completed() == pkts.size();
  }));
  consume(ring, seen);
  ASSERT_EQ(seen.size(), pkts.size());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], frames.data[i]) << "position " << i;
  for (Packet* p : pkts) {
    EXPECT_EQ(h.proto.count_of(p), 1);
    EXPECT_EQ(h.proto.status_of(p), Status::success);
  }
  EXPECT_EQ(rte_mempool_avail_count(h.port().mempool()), pool_before);
  h.expect_all_slots_spare();
}

TEST(DpdkFaults, InvalidPortAndQueueIdsGiveOneLineErrors) {
  for (const uint16_t bad : {uint16_t{RTE_MAX_ETHPORTS - 1}, uint16_t{RTE_MAX_ETHPORTS}, uint16_t{65535}}) {
    auto port = dpdk::Port::open(bad);
    ASSERT_FALSE(port.has_value()) << bad;
    EXPECT_FALSE(port.error().message.empty());
    EXPECT_EQ(port.error().message.find('\n'), std::string::npos) << port.error().message;
  }
  for (const char* bad : {"net_nothing7", "", "-1", "99999"}) {
    auto id = dpdk::Port::find(bad);
    ASSERT_FALSE(id.has_value()) << bad;
    EXPECT_NE(id.error().message.find(std::string("'") + bad + "'"), std::string::npos) << id.error().message;
  }
  RingPort ring(unique_name("ring_badq"));
  auto port = dpdk::Port::open(ring.port_id);
  ASSERT_TRUE(port.has_value()) << port.error().message;
  dpdk::MiniportConfig mc;
  mc.queue_id = 7;  // the port has one TX queue
  auto miniport = dpdk::DpdkMiniport::create(**port, mc);
  ASSERT_FALSE(miniport.has_value());
  EXPECT_NE(miniport.error().message.find("queue"), std::string::npos) << miniport.error().message;
  EXPECT_EQ(miniport.error().message.find('\n'), std::string::npos) << miniport.error().message;
}

}  // namespace
}  // namespace pkio
