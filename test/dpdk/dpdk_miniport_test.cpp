// The DPDK miniport on real virtual devices: net_null (volume, counters), net_ring (every
// byte, order, padding, VLAN tags, back-pressure, delayed completion, link, reset) and
// net_pcap (a capture file read back with libpcap).
#include <pcap/pcap.h>
#include <rte_ethdev.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>

#include "dpdk_harness.h"

namespace pkio::testing_support {
extern std::string pcap_path;
}

namespace pkio {
namespace {

using testing_support::consume;
using testing_support::DpdkHarness;
using testing_support::frame_bytes;
using testing_support::Frames;
using testing_support::packet_over;
using testing_support::unique_name;
using testing_support::PacketFactory;
using testing_support::poll_until;
using testing_support::RingPort;

uint16_t port_named(const char* name) {
  auto id = dpdk::Port::find(name);
  EXPECT_TRUE(id.has_value()) << id.error().message;
  return id.value_or(0);
}

TEST(NetNull, MillionsOfPacketsCompleteOnceAndCountersReconcile) {
  PacketFactory f(512);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  h.open(port_named("net_null0"));
  Frames frames(1, 64);
  std::vector<Packet*> free_list;
  for (int i = 0; i < 512; ++i) free_list.push_back(packet_over(f, frames.data[0]));
  std::vector<Packet*> done;
  h.proto.on_complete = [&](Packet* p) { done.push_back(p); };
  constexpr uint64_t total = 2'000'000;
  uint64_t sent = 0;
  while (sent < total) {
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>({32, free_list.size(), total - sent}));
    if (n > 0) {
      Packet* batch[32];  // off the list first: completions inside the call are appended to `done`
      std::copy(free_list.end() - n, free_list.end(), batch);
      free_list.resize(free_list.size() - n);
      send_packets(h.proto.binding, batch, n);
      sent += n;
    } else {
      h.adapter().poll();
    }
    free_list.insert(free_list.end(), done.begin(), done.end());
    done.clear();
    std::lock_guard lock(h.proto.mutex);
    h.proto.completions.clear();
    h.proto.times_completed.clear();
  }
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.adapter().idle(); }));
  const auto c = h.adapter().counters();
  EXPECT_EQ(c.submitted, total);
  EXPECT_EQ(c.completed_ok, total);
  EXPECT_EQ(c.completed_error, 0u);
  rte_eth_stats stats{};
  ASSERT_EQ(rte_eth_stats_get(h.port().id(), &stats), 0);
  EXPECT_EQ(stats.opackets, total);            // what the PMD counted
  EXPECT_EQ(h.miniport().stats().accepted, total);
  uint64_t xmit_ok = 0;
  uint32_t w = 0, nd = 0;
  ASSERT_EQ(query_information(h.proto.binding, Oid::xmit_ok, &xmit_ok, 8, &w, &nd), Status::success);
  EXPECT_EQ(xmit_ok, stats.opackets);  // R25 reconciled with rte_eth_stats
  const auto batches = h.adapter().batch_size_counts();
  EXPECT_GT(batches[32], 0u);  // full batches of the default maximum_send_packets
  // Every mbuf back in the port's pool: zero-copy sends use the miniport's own slot pool.
  EXPECT_GT(h.miniport().zero_copy_slots(), 0u);
  EXPECT_EQ(rte_mempool_in_use_count(h.port().mempool()), 0u);
  h.expect_all_slots_spare();
  EXPECT_EQ(f.packets->available(), 0u);  // all 512 are in our free list, none lost
  EXPECT_EQ(free_list.size(), 512u);
}

TEST(NetRing, FramesArriveByteForByteInOrderAndCompleteOnlyWhenTheConsumerFrees) {
  RingPort ring(unique_name("ring_order"));
  PacketFactory f(64);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  h.open(ring.port_id);
  Frames frames(10, 200);
  std::vector<Packet*> pkts;
  for (uint32_t i = 0; i < 10; ++i) pkts.push_back(packet_over(f, frames.data[i], 1 + i % 4));
  send_packets(h.proto.binding, pkts.data(), 10);
  for (int i = 0; i < 5; ++i) h.adapter().poll();
  EXPECT_EQ(h.proto.completed(), 0u);  // the ring consumer still holds every mbuf
  auto got = ring.take();
  ASSERT_EQ(got.size(), 10u);
  for (uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(got[i]->nb_segs, 1 + i % 4);  // multi-buffer packets became chained mbufs
    EXPECT_EQ(frame_bytes(got[i]), frames.data[i]) << "frame " << i;
  }
  for (auto* m : got) rte_pktmbuf_free(m);  // the consumer is done: now they complete
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 10; }));
  for (Packet* p : pkts) {
    EXPECT_EQ(h.proto.count_of(p), 1);
    EXPECT_EQ(h.proto.status_of(p), Status::success);
  }
}

TEST(NetRing, R38_ShortFramesArePaddedWithZerosNeverStaleMemory) {
  RingPort ring(unique_name("ring_pad"));
  PacketFactory f(16);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  h.open(ring.port_id);
  // The frame's memory is followed by non-zero bytes: none of them may leak into the pad.
  std::vector<uint8_t> memory(128, 0xAB);
  for (uint32_t len : {13u, 59u, 60u}) {
    std::vector<uint8_t> view(memory.begin(), memory.begin() + len);
    Packet* p = nullptr;
    ASSERT_EQ(f.packets->allocate(p), Status::success);
    Buffer* b = nullptr;
    ASSERT_EQ(f.buffers->allocate(b, memory.data(), len), Status::success);
    ASSERT_EQ(p->chain_at_back(b), Status::success);
    ASSERT_EQ(send(h.proto.binding, p), Status::pending);
    auto got = ring.take();
    ASSERT_EQ(got.size(), 1u);
    const auto bytes = frame_bytes(got[0]);
    ASSERT_EQ(bytes.size(), 60u) << "length " << len;
    for (uint32_t j = 0; j < 60; ++j) EXPECT_EQ(bytes[j], j < len ? 0xAB : 0x00) << "byte " << j;
    rte_pktmbuf_free(got[0]);
  }
}

TEST(NetRing, R37_VlanTagIsInsertedOnlyWhenThe8021pOptionIsAdvertised) {
  for (bool advertised : {true, false}) {
    RingPort ring(unique_name("ring_vlan"));
    PacketFactory f(8);  // outlives the adapter, which may still hold packets
    DpdkHarness h;
    dpdk::MiniportConfig mc;
    mc.priority_8021p = advertised;
    h.open(ring.port_id, mc);
    uint32_t options = 0, w = 0, nd = 0;
    ASSERT_EQ(query_information(h.proto.binding, Oid::mac_options, &options, 4, &w, &nd), Status::success);
    EXPECT_EQ((options & mac_option::priority_8021p) != 0, advertised);
    Frames frames(1, 100);
    Packet* p = packet_over(f, frames.data[0], 2);
    p->ieee8021q = Ieee8021qInfo::make(5, 0x123);
    ASSERT_EQ(send(h.proto.binding, p), Status::pending);
    auto got = ring.take();
    ASSERT_EQ(got.size(), 1u);
    const auto bytes = frame_bytes(got[0]);
    if (advertised) {
      ASSERT_EQ(bytes.size(), 104u);
      EXPECT_TRUE(std::equal(bytes.begin(), bytes.begin() + 12, frames.data[0].begin()));
      EXPECT_EQ(bytes[12], 0x81);
      EXPECT_EQ(bytes[13], 0x00);
      EXPECT_EQ((bytes[14] << 8) | bytes[15], (5 << 13) | 0x123);
      EXPECT_TRUE(std::equal(bytes.begin() + 16, bytes.end(), frames.data[0].begin() + 12));
    } else {
      EXPECT_EQ(bytes, frames.data[0]);
    }
    rte_pktmbuf_free(got[0]);
  }
}

TEST(NetRing, R37_SoftwareTaggedFramesOfAnySizeArriveTaggedAndCompleteOnlyWhenTheConsumerFrees) {
  // net_ring inserts no tag itself: small frames are copied into one slot with the tag, large
  // ones go as a chain (header slot + the frame). Either way the protocol's bytes stay as they
  // were and the packet completes when the consumer frees the frame.
  RingPort ring(unique_name("ring_softtag"));
  PacketFactory f(8);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  dpdk::MiniportConfig mc;
  mc.priority_8021p = true;
  h.open(ring.port_id, mc);
  Frames frames(4, 0);
  frames.data = {std::vector<uint8_t>(60, 0x11), std::vector<uint8_t>(1020, 0x22),
                 std::vector<uint8_t>(1400, 0x33), std::vector<uint8_t>(200, 0x44)};
  for (auto& d : frames.data)
    for (size_t j = 0; j < d.size(); ++j) d[j] = static_cast<uint8_t>(d[j] + j);
  const Frames before = frames;
  std::vector<Packet*> pkts;
  for (auto& d : frames.data) pkts.push_back(packet_over(f, d));
  for (uint32_t i = 0; i < 3; ++i) pkts[i]->ieee8021q = Ieee8021qInfo::make(static_cast<uint8_t>(i), 100 + i);
  send_packets(h.proto.binding, pkts.data(), 4);
  for (int i = 0; i < 5; ++i) h.adapter().poll();
  EXPECT_EQ(h.proto.completed(), 0u);  // the ring consumer still holds every frame
  auto got = ring.take();
  ASSERT_EQ(got.size(), 4u);
  for (uint32_t i = 0; i < 3; ++i) {
    const auto bytes = frame_bytes(got[i]);
    const auto& sent = frames.data[i];
    ASSERT_EQ(bytes.size(), sent.size() + 4) << "frame " << i;
    EXPECT_TRUE(std::equal(bytes.begin(), bytes.begin() + 12, sent.begin())) << "frame " << i;
    EXPECT_EQ((bytes[12] << 8) | bytes[13], 0x8100) << "frame " << i;
    EXPECT_EQ((bytes[14] << 8) | bytes[15], (static_cast<int>(i) << 13) | (100 + static_cast<int>(i))) << "frame " << i;
    EXPECT_TRUE(std::equal(bytes.begin() + 16, bytes.end(), sent.begin() + 12)) << "frame " << i;
  }
  EXPECT_EQ(frame_bytes(got[3]), frames.data[3]);  // untagged, as it was
  EXPECT_EQ(frames.data, before.data);            // the protocol's bytes untouched
  for (auto* m : got) rte_pktmbuf_free(m);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 4; }));
  for (Packet* p : pkts) {
    EXPECT_EQ(h.proto.count_of(p), 1);
    EXPECT_EQ(h.proto.status_of(p), Status::success);
  }
}

/// Sends one packet per frame and drains the ring `per_step` frames per poll step (a slow
/// consumer) until every packet completed; checks every frame arrived once, byte for byte and
/// in order, and every packet completed once. Call it inside ASSERT_NO_FATAL_FAILURE.
void send_through_slow_consumer(DpdkHarness& h, RingPort& ring, const std::vector<Packet*>& pkts,
                                const Frames& frames, unsigned per_step) {
  send_packets(h.proto.binding, pkts.data(), static_cast<uint32_t>(pkts.size()));
  std::vector<std::vector<uint8_t>> seen;
  ASSERT_TRUE(poll_until(h.adapter(), [&] {
    consume(ring, seen, per_step);
    return h.proto.completed() == pkts.size();
  }, 5000));
  ASSERT_EQ(seen.size(), pkts.size());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], frames.data[i]) << "position " << i;
  for (Packet* p : pkts) EXPECT_EQ(h.proto.count_of(p), 1);
}

TEST(NetRing, SmallRingGivesResourcesAndRequeuesWithoutLossOrReordering) {
  RingPort ring(unique_name("ring_small"), 16);
  PacketFactory f(256);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  h.open(ring.port_id);
  Frames frames(200, 64);
  std::vector<Packet*> pkts;
  for (uint32_t i = 0; i < 200; ++i) pkts.push_back(packet_over(f, frames.data[i]));
  ASSERT_NO_FATAL_FAILURE(send_through_slow_consumer(h, ring, pkts, frames, 8));
  const auto c = h.adapter().counters();
  EXPECT_GT(c.resources_events, 0u);  // partial acceptance happened and was requeued
  EXPECT_EQ(c.completed_ok, 200u);
  EXPECT_GT(h.miniport().stats().refused, 0u);
}

/// A TX callback that lets through 5, 0, 32 and 1 packets of successive bursts: the
/// partial acceptance of contract.md's fault list, injected in front of the PMD.
uint16_t accept_part_of_burst(uint16_t, uint16_t, rte_mbuf**, uint16_t n, void* calls) {
  static constexpr uint16_t pattern[] = {5, 0, 32, 1};
  const uint16_t allowed = pattern[(*static_cast<uint32_t*>(calls))++ % 4];
  return std::min(n, allowed);
}

TEST(NetRing, PartialBurstsFromATxCallbackLoseAndReorderNothing) {
  RingPort ring(unique_name("ring_partial"));
  PacketFactory f(600);
  DpdkHarness h;
  h.open(ring.port_id);
  uint32_t calls = 0;
  const rte_eth_rxtx_callback* cb =
      rte_eth_add_tx_callback(ring.port_id, 0, accept_part_of_burst, &calls);
  ASSERT_NE(cb, nullptr) << "this DPDK was built without RTE_ETHDEV_RXTX_CALLBACKS";
  Frames frames(500, 64);
  std::vector<Packet*> pkts;
  for (auto& frame : frames.data) pkts.push_back(packet_over(f, frame));
  ASSERT_NO_FATAL_FAILURE(send_through_slow_consumer(h, ring, pkts, frames, 64));
  ASSERT_EQ(rte_eth_remove_tx_callback(ring.port_id, 0, cb), 0);
  for (Packet* p : pkts) EXPECT_EQ(h.proto.status_of(p), Status::success);
  const auto c = h.adapter().counters();
  EXPECT_GT(c.resources_events, 0u);
  EXPECT_GT(c.requeued, 0u);
  EXPECT_EQ(h.miniport().stats().accepted, pkts.size());
  rte_eth_stats stats{};
  ASSERT_EQ(rte_eth_stats_get(ring.port_id, &stats), 0);
  EXPECT_EQ(stats.opackets, pkts.size());  // the PMD saw each frame once
}

TEST(NetRing, TooFewZeroCopySlotsGiveResourcesAndNothingIsLostOrReordered) {
  RingPort ring(unique_name("ring_slots"));
  PacketFactory f(256);
  DpdkHarness h;
  dpdk::MiniportConfig mc;
  mc.zero_copy_slots = 8;  // fewer than one batch: sends wait for the consumer's frees
  h.open(ring.port_id, mc);
  ASSERT_EQ(h.miniport().zero_copy_slots(), 8u);
  Frames frames(200, 64);
  std::vector<Packet*> pkts;
  for (auto& frame : frames.data) pkts.push_back(packet_over(f, frame));
  ASSERT_NO_FATAL_FAILURE(send_through_slow_consumer(h, ring, pkts, frames, 3));
  EXPECT_GT(h.miniport().stats().slots_busy, 0u);
  EXPECT_GT(h.adapter().counters().resources_events, 0u);
  EXPECT_EQ(h.adapter().counters().completed_ok, 200u);
}

TEST(NetRing, R18_DeserializedModeHoldsBackRefusedPacketsAndCompletesEachOnceInOrder) {
  RingPort ring(unique_name("ring_deser"), 16);
  PacketFactory f(256);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  dpdk::MiniportConfig mc;
  mc.deserialized = true;
  h.open(ring.port_id, mc);
  EXPECT_TRUE(h.adapter().deserialized());
  Frames frames(200, 64);
  std::vector<Packet*> pkts;
  for (uint32_t i = 0; i < 200; ++i) pkts.push_back(packet_over(f, frames.data[i]));
  ASSERT_NO_FATAL_FAILURE(send_through_slow_consumer(h, ring, pkts, frames, 8));
  const auto c = h.adapter().counters();
  EXPECT_EQ(c.completed_ok, 200u);
  EXPECT_EQ(c.resources_events, 0u);  // the dispatcher never saw `resources`
  EXPECT_EQ(c.violations.deserialized_resources, 0u);
  EXPECT_GT(h.miniport().stats().refused, 0u);  // the PMD did push back; the miniport held them
}

TEST(NetRing, R26_OidsComeFromTheDevice) {
  RingPort ring(unique_name("ring_oid"));
  DpdkHarness h;
  h.open(ring.port_id);
  auto q = [&](Oid oid) {
    uint32_t v = 0, w = 0, nd = 0;
    EXPECT_EQ(query_information(h.proto.binding, oid, &v, 4, &w, &nd), Status::success) << to_string(oid);
    return v;
  };
  uint16_t mtu = 0;
  ASSERT_EQ(rte_eth_dev_get_mtu(ring.port_id, &mtu), 0);
  EXPECT_EQ(q(Oid::maximum_frame_size), mtu);
  EXPECT_EQ(q(Oid::maximum_total_size), mtu + 14u);
  rte_eth_link link{};
  ASSERT_EQ(rte_eth_link_get_nowait(ring.port_id, &link), 0);
  EXPECT_EQ(q(Oid::link_speed), link.link_speed * 10000u);  // units of 100 bit/s
  EXPECT_EQ(q(Oid::media_connect_status), 0u);               // connected
  EXPECT_TRUE(q(Oid::mac_options) & mac_option::no_loopback);
  EXPECT_EQ(q(Oid::maximum_send_packets), 32u);
  EXPECT_EQ(h.adapter().maximum_total_size(), mtu + 14u);
}

TEST(NetRing, R10_OverlongAndOversegmentedPacketsNeverReachThePmd) {
  RingPort ring(unique_name("ring_bad"));
  PacketFactory f(8, 512);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  h.open(ring.port_id);
  std::vector<uint8_t> big(h.adapter().maximum_total_size() + 1, 1);
  Packet* too_long = packet_over(f, big);
  EXPECT_EQ(send(h.proto.binding, too_long), Status::invalid_packet);
  std::vector<uint8_t> bytes(300, 2);
  Packet* many = packet_over(f, bytes, 300);  // 300 one-byte buffers: more than nb_seg_max allows
  send_packets(h.proto.binding, &many, 1);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 1; }));
  EXPECT_EQ(h.proto.status_of(many), Status::invalid_packet);
  // The same through send_packets' direct path, where the miniport alone checks
  // (MiniportCharacteristics::checks_packets): too long, empty, zero-length, reserved 802.1Q
  // bits, each beside a good packet that must still go.
  std::vector<uint8_t> good(64, 3), none;
  Packet* bad_tag = packet_over(f, good);
  bad_tag->ieee8021q.value = 1u << 16;  // a reserved bit
  Packet* empty = nullptr;
  ASSERT_EQ(f.packets->allocate(empty), Status::success);
  Packet* zero = packet_over(f, none);
  Packet* fine = packet_over(f, good);
  ASSERT_TRUE(h.miniport().characteristics().checks_packets);
  std::vector<Packet*> batch{too_long, bad_tag, empty, zero, fine};
  send_packets(h.proto.binding, batch.data(), 5);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 5; }));
  for (Packet* p : {too_long, bad_tag, empty, zero}) EXPECT_EQ(h.proto.status_of(p), Status::invalid_packet);
  const auto reached = ring.take();
  ASSERT_EQ(reached.size(), 1u);  // only the good one reached the PMD
  EXPECT_EQ(frame_bytes(reached[0]), good);
  rte_pktmbuf_free(reached[0]);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 6; }));
  EXPECT_EQ(h.proto.status_of(fine), Status::success);
}

/// R10 through `send` (NdisSend): refused at once with invalid_packet, no handler call, nothing
/// at the PMD, not counted as submitted, and the packet still the protocol's (sent again, it is
/// refused again, not taken for a packet in flight). On the run-to-completion path of a
/// serialized miniport the miniport's own check is send's answer; elsewhere the dispatcher's.
TEST(NetRing, R10_SendRefusesEachInvalidPacketAtOnceOnEveryPath) {
  struct Path {
    const char* name;
    dpdk::CompletionMode completion;
    bool deserialized;
    bool run_to_completion;
  };
  const Path paths[] = {{"zero-copy, run to completion", dpdk::CompletionMode::on_free, false, true},
                        {"copy, run to completion", dpdk::CompletionMode::on_accept, false, true},
                        {"deserialized, run to completion", dpdk::CompletionMode::on_free, true, true},
                        {"zero-copy, worker thread", dpdk::CompletionMode::on_free, false, false}};
  RingPort ring(unique_name("ring_send_bad"));  // one for all: a process has few port ids
  for (const Path& path : paths) {
    SCOPED_TRACE(path.name);
    PacketFactory f(8, 512);  // outlives the adapter, which may still hold packets
    DpdkHarness h;
    dpdk::MiniportConfig mc;
    mc.completion = path.completion;
    mc.deserialized = path.deserialized;
    AdapterConfig ac;
    ac.run_to_completion = path.run_to_completion;
    h.open(ring.port_id, mc, ac);
    if (!path.run_to_completion) ASSERT_TRUE(h.adapter().start_worker(-1).has_value());
    std::vector<uint8_t> big(h.adapter().maximum_total_size() + 1, 1), good(64, 3), none, unmapped(64, 4);
    Packet* too_long = packet_over(f, big);
    Packet* bad_tag = packet_over(f, good);
    bad_tag->ieee8021q.value = 1u << 16;  // a reserved bit
    Packet* empty = nullptr;
    ASSERT_EQ(f.packets->allocate(empty), Status::success);
    Packet* zero = packet_over(f, none);
    Packet* no_memory = packet_over(f, unmapped);
    PacketCounts counts;
    ASSERT_EQ(no_memory->query(counts), Status::success);  // counted while valid,
    no_memory->first_buffer()->address = nullptr;           // then broken behind the chain's back
    const std::vector<Packet*> invalid{too_long, bad_tag, empty, zero, no_memory};
    for (int round = 0; round < 2; ++round)
      for (Packet* p : invalid) EXPECT_EQ(send(h.proto.binding, p), Status::invalid_packet) << "round " << round;
    const AdapterCounters c = h.adapter().counters();
    EXPECT_EQ(c.rejected_sync, 2 * invalid.size());
    EXPECT_EQ(c.submitted, 0u);
    EXPECT_EQ(c.in_flight, 0u);
    Packet* fine = packet_over(f, good);
    EXPECT_EQ(send(h.proto.binding, fine), Status::pending);
    const auto wait_for = [&](auto done) {  // the worker polls by itself; this thread must not
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (!done() && std::chrono::steady_clock::now() < end)
        if (path.run_to_completion) h.adapter().poll();
      return done();
    };
    ASSERT_TRUE(wait_for([&] { return rte_ring_count(ring.tx) == 1; }));
    const auto reached = ring.take();
    ASSERT_EQ(reached.size(), 1u);  // only the good one reached the PMD
    EXPECT_EQ(frame_bytes(reached[0]), good);
    rte_pktmbuf_free(reached[0]);
    ASSERT_TRUE(wait_for([&] { return h.proto.completed() == 1; }));
    EXPECT_EQ(h.proto.status_of(fine), Status::success);  // the only completion of the run
    EXPECT_EQ(h.adapter().counters().submitted, 1u);
  }
}

TEST(NetRing, R29_R30_LinkDownIsIndicatedAndFailsSendsWithNoCable) {
  RingPort ring(unique_name("ring_link"));
  PacketFactory f(4);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  dpdk::MiniportConfig mc;
  mc.link_poll_ms = 10;
  h.open(ring.port_id, mc);
  ASSERT_EQ(rte_eth_dev_set_link_down(ring.port_id), 0);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return !h.proto.indications.empty(); }, 2000));
  EXPECT_EQ(h.proto.indications.back(), Indication::media_disconnect);
  Frames frames(1, 64);
  Packet* p = packet_over(f, frames.data[0]);
  EXPECT_EQ(send(h.proto.binding, p), Status::no_cable);
  ASSERT_EQ(rte_eth_dev_set_link_up(ring.port_id), 0);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.indications.size() == 2; }, 2000));
  EXPECT_EQ(h.proto.indications.back(), Indication::media_connect);
  EXPECT_EQ(send(h.proto.binding, p), Status::pending);
  for (auto* m : ring.take()) rte_pktmbuf_free(m);
}

/// R12 with frames still held by a net_ring consumer: every packet completed once with
/// reset_in_progress; the protocol then reuses its buffers (`buffers` are overwritten), yet
/// the frames the consumer reads must be `expected` byte for byte, and their late frees
/// complete nothing. Returns the segment count of each frame the consumer took.
/// One single-buffer packet over each frame, and each frame's memory (which the reset tests
/// overwrite to show that what a consumer holds no longer depends on it).
std::pair<std::vector<Packet*>, std::vector<std::vector<uint8_t>*>> packets_over(PacketFactory& f,
                                                                                Frames& frames) {
  std::pair<std::vector<Packet*>, std::vector<std::vector<uint8_t>*>> out;
  for (auto& frame : frames.data) {
    out.first.push_back(packet_over(f, frame));
    out.second.push_back(&frame);
  }
  return out;
}

std::vector<uint16_t> expect_held_frames_survive_reuse(DpdkHarness& h, RingPort& ring,
                                                       const std::vector<Packet*>& pkts,
                                                       const std::vector<std::vector<uint8_t>*>& buffers,
                                                       const std::vector<std::vector<uint8_t>>& expected) {
  for (Packet* p : pkts) {
    EXPECT_EQ(h.proto.count_of(p), 1);
    EXPECT_EQ(h.proto.status_of(p), Status::reset_in_progress);
  }
  for (auto* bytes : buffers) std::fill(bytes->begin(), bytes->end(), 0xEE);
  const auto held = ring.take();
  EXPECT_EQ(held.size(), expected.size());
  std::vector<uint16_t> segments;
  for (size_t i = 0; i < held.size(); ++i) {
    if (i < expected.size()) { EXPECT_EQ(frame_bytes(held[i]), expected[i]) << "frame " << i; }
    segments.push_back(held[i]->nb_segs);
    rte_pktmbuf_free(held[i]);
  }
  h.adapter().poll();
  for (Packet* p : pkts) EXPECT_EQ(h.proto.count_of(p), 1);  // nothing completes twice
  EXPECT_EQ(h.adapter().counters().violations.unexpected_completion, 0u);
  return segments;
}

TEST(NetRing, R12_ResetCompletesPacketsTheConsumerStillHoldsExactlyOnce) {
  RingPort ring(unique_name("ring_reset"));
  PacketFactory f(8);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  dpdk::MiniportConfig mc;
  mc.holder_wait_ms = 100;  // room for a consumer thread on a loaded machine (below)
  h.open(ring.port_id, mc);
  Frames frames(4, 64);
  const auto [pkts, buffers] = packets_over(f, frames);
  send_packets(h.proto.binding, pkts.data(), 4);
  EXPECT_EQ(h.adapter().reset(), Status::success);
  // The consumer freed nothing for holder_wait_ms: the miniport gave the mbufs it holds a
  // copy of their frames.
  expect_held_frames_survive_reuse(h, ring, pkts, buffers, Frames(4, 64).data);

  // A consumer that keeps freeing may be mid-read at the reset, where a copy would come too
  // late: the reset waits for it, so it reads the protocol's own buffers, unchanged, and
  // the packets complete only once it has freed them all.
  Frames more(4, 64);
  const auto [again, again_buffers] = packets_over(f, more);
  send_packets(h.proto.binding, again.data(), 4);
  std::vector<uint8_t> original(4), intact(4);
  std::thread consumer([&] {
    for (size_t i = 0; i < 4;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const auto taken = ring.take(1);
      if (taken.empty()) continue;
      original[i] = rte_pktmbuf_mtod(taken[0], const uint8_t*) == more.data[i].data();
      intact[i] = frame_bytes(taken[0]) == Frames(4, 64).data[i];
      rte_pktmbuf_free(taken[0]);
      ++i;
    }
  });
  EXPECT_EQ(h.adapter().reset(), Status::success);
  const unsigned left_in_ring = rte_ring_count(ring.tx);
  consumer.join();
  EXPECT_EQ(left_in_ring, 0u) << "the reset returned before the consumer was done";
  EXPECT_EQ(original, std::vector<uint8_t>(4, 1)) << "a frame was copied under a consumer still freeing";
  EXPECT_EQ(intact, std::vector<uint8_t>(4, 1));
  for (Packet* p : again) {
    EXPECT_EQ(h.proto.count_of(p), 1);
    EXPECT_EQ(h.proto.status_of(p), Status::reset_in_progress);
  }
}

TEST(NetRing, R12_ResetLeavesChainedAndPaddedFramesIntactForTheConsumer) {
  RingPort ring(unique_name("ring_reset_chain"));
  PacketFactory f(16);
  DpdkHarness h;
  h.open(ring.port_id);
  Frames chained(2, 64), short_frames(2, 40);
  std::vector<Packet*> pkts;
  std::vector<std::vector<uint8_t>*> buffers;
  std::vector<std::vector<uint8_t>> expected = Frames(2, 64).data;
  for (auto& frame : chained.data) {
    pkts.push_back(packet_over(f, frame, 2));  // two segments
    buffers.push_back(&frame);
  }
  for (auto& frame : short_frames.data) {
    pkts.push_back(packet_over(f, frame));  // + a zero pad segment
    buffers.push_back(&frame);
    expected.push_back(frame);
    expected.back().resize(60, 0);
  }
  send_packets(h.proto.binding, pkts.data(), 4);
  EXPECT_EQ(h.adapter().reset(), Status::success);
  const auto segments = expect_held_frames_survive_reuse(h, ring, pkts, buffers, expected);
  EXPECT_EQ(segments, (std::vector<uint16_t>{2, 2, 2, 2}));
}

TEST(NetRing, R12_JumboFramesGoInPiecesAndAResetCopiesThemForTheConsumer) {
  // A buffer larger than an mbuf's data room is sent zero-copy in slot-sized pieces; a reset
  // copies each piece a consumer still holds, so the protocol may reuse its buffer at once.
  RingPort ring(unique_name("ring_jumbo"));
  PacketFactory f(8);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  dpdk::PortConfig pc;
  pc.mtu = 9000;  // net_ring has no mtu_set: configured with the port (PortConfig::mtu)
  h.open(ring.port_id, {}, {}, pc);
  ASSERT_EQ(h.adapter().maximum_total_size(), 9014u);
  Frames frames(2, 5000);
  const Frames sent_bytes(2, 5000);
  const auto [pkts, buffers] = packets_over(f, frames);
  // First without a reset: the frames arrive whole and complete when the consumer frees.
  send_packets(h.proto.binding, pkts.data(), 2);
  std::vector<std::vector<uint8_t>> seen;
  consume(ring, seen);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 2; }));
  EXPECT_EQ(seen, sent_bytes.data);
  EXPECT_EQ(h.proto.status_of(pkts[0]), Status::success);
  // Then held across a reset.
  h.proto.completions.clear();
  h.proto.times_completed.clear();
  send_packets(h.proto.binding, pkts.data(), 2);
  EXPECT_EQ(h.adapter().reset(), Status::success);
  const auto segments = expect_held_frames_survive_reuse(h, ring, pkts, buffers, sent_bytes.data);
  const uint32_t room = 2048;  // at most an mbuf's default data room per piece
  EXPECT_EQ(segments.size(), 2u);
  for (uint16_t n : segments) EXPECT_GE(n, (5000 + room - 1) / room);
}

TEST(NetRing, StuckConsumerFiresTheWatchdogAndEveryPacketStillCompletesOnce) {
  // contract.md, faults: a net_ring consumer that never frees its mbufs. The adapter's send
  // timeout (R23) finds the hang, the reset path completes every packet exactly once, and
  // the frames the consumer holds stay intact though the protocol reuses its buffers.
  RingPort ring(unique_name("ring_stuck"));
  PacketFactory f(64);
  DpdkHarness h;
  AdapterConfig ac;
  ac.send_timeout_ns = 50'000'000;  // 50 ms
  h.open(ring.port_id, {}, ac);
  const unsigned pool_before = rte_mempool_avail_count(h.port().mempool());
  Frames frames(48, 64);
  const Frames sent_bytes(48, 64);
  const auto [pkts, buffers] = packets_over(f, frames);
  send_packets(h.proto.binding, pkts.data(), static_cast<uint32_t>(pkts.size()));
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.adapter().idle(); }, 5000));
  const auto c = h.adapter().counters();
  EXPECT_GE(c.violations.hangs, 1u);  // the watchdog fired and is reported
  EXPECT_GE(c.resets, 1u);
  EXPECT_EQ(c.completed_ok + c.completed_error, pkts.size());
  EXPECT_EQ(c.in_flight, 0u);
  expect_held_frames_survive_reuse(h, ring, pkts, buffers, sent_bytes.data);  // consumer wakes
  EXPECT_EQ(h.miniport().stats().accepted, pkts.size());
  EXPECT_EQ(rte_mempool_avail_count(h.port().mempool()), pool_before);  // no mbuf lost
  h.expect_all_slots_spare();
}

TEST(NetRing, CopyModeCompletesOnAcceptance) {
  RingPort ring(unique_name("ring_copy"));
  PacketFactory f(8);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  dpdk::MiniportConfig mc;
  mc.completion = dpdk::CompletionMode::on_accept;
  h.open(ring.port_id, mc);
  Frames frames(3, 30);
  std::vector<Packet*> pkts;
  for (uint32_t i = 0; i < 3; ++i) pkts.push_back(packet_over(f, frames.data[i], 2));
  send_packets(h.proto.binding, pkts.data(), 3);
  EXPECT_EQ(h.proto.completed(), 3u);  // before the consumer touched anything
  auto got = ring.take();
  ASSERT_EQ(got.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    auto bytes = frame_bytes(got[i]);
    ASSERT_EQ(bytes.size(), 60u);
    EXPECT_TRUE(std::equal(frames.data[i].begin(), frames.data[i].end(), bytes.begin()));
    rte_pktmbuf_free(got[i]);
  }
}

TEST(NetPcap, CapturedFramesMatchWhatWasSentWithPaddingAndTags) {
  PacketFactory f(16);  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  dpdk::MiniportConfig mc;
  mc.priority_8021p = true;
  h.open(port_named("net_pcap0"), mc);
  Frames frames(4, 0);
  frames.data = {std::vector<uint8_t>(42, 0x11), std::vector<uint8_t>(100, 0x22),
                 std::vector<uint8_t>(1000, 0x33), std::vector<uint8_t>(64, 0x44)};
  std::vector<Packet*> pkts;
  for (auto& d : frames.data) pkts.push_back(packet_over(f, d, 2));
  pkts[3]->ieee8021q = Ieee8021qInfo::make(3, 42);
  send_packets(h.proto.binding, pkts.data(), 4);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 4; }));
  h.stack.reset();  // closing the port flushes the capture file
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* pc = pcap_open_offline(testing_support::pcap_path.c_str(), err);
  ASSERT_NE(pc, nullptr) << err;
  std::vector<std::vector<uint8_t>> captured;
  pcap_pkthdr* hdr;
  const u_char* data;
  while (pcap_next_ex(pc, &hdr, &data) == 1) captured.emplace_back(data, data + hdr->caplen);
  pcap_close(pc);
  ASSERT_EQ(captured.size(), 4u);
  EXPECT_EQ(captured[0].size(), 60u);  // 42 padded with zeros
  EXPECT_TRUE(std::all_of(captured[0].begin() + 42, captured[0].end(), [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(captured[1], frames.data[1]);
  EXPECT_EQ(captured[2], frames.data[2]);
  ASSERT_EQ(captured[3].size(), 68u);  // tagged
  EXPECT_EQ(captured[3][12], 0x81);
  EXPECT_EQ((captured[3][14] << 8) | captured[3][15], (3 << 13) | 42);
}

}  // namespace
}  // namespace pkio
