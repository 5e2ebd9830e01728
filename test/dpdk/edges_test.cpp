// Exactly once at the DPDK layer's edges, as an embedder meets them: arrays with repeats on
// net_null, net_ring and net_pcap; adapter, miniport and port torn down in every order with
// packets in flight and frames still held by a consumer; buffers over no memory sent
// zero-copy; thousands of binding cycles on one port.
#include <pcap/pcap.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <thread>

#include "dpdk_harness.h"

namespace pkio::testing_support {
extern std::string pcap_path;
}

namespace pkio {
namespace {

using testing_support::DpdkHarness;
using testing_support::frame_bytes;
using testing_support::Frames;
using testing_support::packet_over;
using testing_support::PacketFactory;
using testing_support::poll_until;
using testing_support::RecordingProtocol;
using testing_support::RingPort;
using testing_support::unique_name;

uint16_t port_named(const char* name) {
  auto id = dpdk::Port::find(name);
  EXPECT_TRUE(id.has_value()) << id.error().message;
  return id.value_or(0);
}

std::vector<std::vector<uint8_t>> read_capture() {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* pc = pcap_open_offline(testing_support::pcap_path.c_str(), err);
  EXPECT_NE(pc, nullptr) << err;
  std::vector<std::vector<uint8_t>> captured;
  if (pc == nullptr) return captured;
  pcap_pkthdr* hdr;
  const u_char* data;
  while (pcap_next_ex(pc, &hdr, &data) == 1) captured.emplace_back(data, data + hdr->caplen);
  pcap_close(pc);
  return captured;
}

/// One net_ring port for every test here (a process has at most 32 ports); each test leaves
/// its ring empty. Never destroyed: its rings must not be freed after EAL cleanup at exit.
RingPort& shared_ring() {
  static RingPort* ring = new RingPort(unique_name("edges"), 4096);
  return *ring;
}

void wait_idle(Adapter& a, bool worker) {
  if (!worker) {
    EXPECT_TRUE(poll_until(a, [&] { return a.idle(); }));
    return;
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!a.idle() && std::chrono::steady_clock::now() < end) std::this_thread::yield();
  EXPECT_TRUE(a.idle());
}

// --- Repeats in one call, on real devices -------------------------------------------------------

struct DeviceCase {
  const char* device;  // "ring": a fresh net_ring whose consumer frees at once
  bool worker;
};

struct RepeatsOnDevices : ::testing::TestWithParam<DeviceCase> {};

TEST_P(RepeatsOnDevices, R40_ARepeatedPacketLeavesTheDeviceOnceWhateverItsDistance) {
  const DeviceCase& c = GetParam();
  const bool ring = std::string(c.device) == "ring";
  RingPort* rp = ring ? &shared_ring() : nullptr;
  PacketFactory f(1024);
  Frames frames(1024, 64);
  for (uint32_t i = 0; i < 1024; ++i) std::memcpy(frames.data[i].data(), &i, sizeof i);  // each its own
  for (const uint32_t distance : {1u, 31u, 32u, 33u, 100u, 300u}) {
    SCOPED_TRACE("distance " + std::to_string(distance));
    DpdkHarness h;
    AdapterConfig ac;
    ac.run_to_completion = !c.worker;
    h.open(ring ? rp->port_id : port_named(c.device), {}, ac);
    if (c.worker) {
      ASSERT_TRUE(h.adapter().start_worker().has_value());
    }
    std::vector<Packet*> array;
    std::vector<Packet*> distinct;
    for (uint32_t i = 0; i <= 2 * distance; ++i) {
      if (i % distance == 0 && i > 0) {
        array.push_back(array[0]);
        continue;
      }
      distinct.push_back(packet_over(f, frames.data[i]));
      array.push_back(distinct.back());
    }
    send_packets(h.proto.binding, array.data(), static_cast<uint32_t>(array.size()));
    std::vector<std::vector<uint8_t>> seen;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (h.proto.completed() < distinct.size() && std::chrono::steady_clock::now() < end) {
      if (ring) testing_support::consume(*rp, seen);
      if (!c.worker) h.adapter().poll();
    }
    wait_idle(h.adapter(), c.worker);
    h.adapter().stop_worker();
    EXPECT_EQ(h.proto.completed(), distinct.size());
    for (Packet* p : distinct) EXPECT_EQ(h.proto.count_of(p), 1);
    const AdapterCounters counters = h.adapter().counters();
    EXPECT_EQ(counters.violations.rejected_entries, 2u);
    EXPECT_EQ(counters.completed_ok, distinct.size());
    EXPECT_EQ(h.miniport().stats().accepted, distinct.size());  // what reached the PMD
    if (ring) {
      testing_support::consume(*rp, seen);
      EXPECT_EQ(seen.size(), distinct.size());
      EXPECT_EQ(std::count(seen.begin(), seen.end(), frames.data[0]), 1);  // p's frame, once
    }
    const bool pcap = std::string(c.device) == "net_pcap0";
    for (Packet* p : distinct) f.release(p);
    h.stack.reset();  // closing the port flushes a capture file
    if (pcap) {
      const auto captured = read_capture();
      EXPECT_EQ(captured.size(), distinct.size());
      EXPECT_EQ(std::count(captured.begin(), captured.end(), frames.data[0]), 1);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, RepeatsOnDevices,
                         ::testing::Values(DeviceCase{"net_null0", false}, DeviceCase{"net_null0", true},
                                           DeviceCase{"ring", false}, DeviceCase{"ring", true},
                                           DeviceCase{"net_pcap0", false}),
                         [](const ::testing::TestParamInfo<DeviceCase>& i) {
                           std::string name = i.param.device;
                           std::replace(name.begin(), name.end(), '_', 'x');
                           return name + (i.param.worker ? "_worker" : "_inline");
                         });

// --- Teardown in every order ---------------------------------------------------------------------

enum class Part { adapter, miniport, port };

struct TeardownCase {
  std::array<Part, 3> order;
  bool worker;
  bool copy;
};

std::string order_name(const ::testing::TestParamInfo<TeardownCase>& i) {
  std::string name;
  for (Part p : i.param.order) name += p == Part::adapter ? "A" : p == Part::miniport ? "M" : "P";
  return name + (i.param.worker ? "_worker" : "_inline") + (i.param.copy ? "_copy" : "_zero_copy");
}

struct Teardown : ::testing::TestWithParam<TeardownCase> {};

TEST_P(Teardown, EveryOrderCompletesEveryPacketOnceAndTheConsumerStillReadsItsFrames) {
  const TeardownCase& c = GetParam();
  RingPort& ring = shared_ring();
  PacketFactory f(128);
  Frames frames(64, 100);
  const Frames original = frames;
  std::unique_ptr<dpdk::Port> port;
  std::unique_ptr<dpdk::DpdkMiniport> miniport;
  std::unique_ptr<Adapter> adapter;
  RecordingProtocol proto;
  // Small pools: a pool whose mbufs a consumer still holds at teardown stays allocated.
  dpdk::PortConfig pc;
  pc.mbufs = 1023;
  pc.tx_descriptors = 256;
  // Each part made on its own (not with dpdk::Stack), so the test can destroy them in any order.
  auto opened_port = dpdk::Port::open(ring.port_id, pc);
  ASSERT_TRUE(opened_port.has_value()) << opened_port.error().message;
  port = std::move(*opened_port);
  dpdk::MiniportConfig mc;
  mc.zero_copy_slots = 128;
  mc.completion = c.copy ? dpdk::CompletionMode::on_accept : dpdk::CompletionMode::on_free;
  auto made = dpdk::DpdkMiniport::create(*port, mc);
  ASSERT_TRUE(made.has_value()) << made.error().message;
  miniport = std::move(*made);
  AdapterConfig ac;
  ac.run_to_completion = !c.worker;
  auto created = Adapter::create(miniport->characteristics(), miniport.get(), ac);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  adapter = std::move(*created);
  proto.open(*adapter);
  if (c.worker) {
    ASSERT_TRUE(adapter->start_worker().has_value());
  }
  std::vector<Packet*> pkts;
  for (auto& d : frames.data) pkts.push_back(packet_over(f, d));
  send_packets(proto.binding, pkts.data(), static_cast<uint32_t>(pkts.size()));
  // Every frame handed to the ring, none read yet: zero-copy packets are in flight.
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (rte_ring_count(ring.tx) < pkts.size() && std::chrono::steady_clock::now() < end) {
    if (!c.worker) adapter->poll();
  }
  ASSERT_EQ(rte_ring_count(ring.tx), pkts.size());
  if (!c.copy) {
    EXPECT_EQ(proto.completed(), 0u);
  }

  for (size_t step = 0; step < c.order.size(); ++step) {
    switch (c.order[step]) {
      case Part::adapter: adapter.reset(); break;
      case Part::miniport: miniport.reset(); break;
      case Part::port: port.reset(); break;
    }
    if (step == 0) {  // whichever went first, the adapter is halted and everything is back
      ASSERT_EQ(proto.completed(), pkts.size());
      for (Packet* p : pkts) {
        EXPECT_EQ(proto.count_of(p), 1);
        EXPECT_EQ(proto.status_of(p), c.copy ? Status::success : Status::request_aborted);
      }
    }
  }
  // The packets are the protocol's again: it may rewrite its memory, and the consumer still
  // reads the frames as they were sent (copies made when the adapter halted).
  for (auto& d : frames.data) std::fill(d.begin(), d.end(), 0xEE);
  std::vector<std::vector<uint8_t>> seen;
  testing_support::consume(ring, seen);
  ASSERT_EQ(seen.size(), pkts.size());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], original.data[i]) << i;
  EXPECT_EQ(proto.completed(), pkts.size());  // and nothing completed twice meanwhile
  for (Packet* p : pkts) f.release(p);
}

std::vector<TeardownCase> teardown_cases() {
  std::vector<TeardownCase> out;
  std::array<Part, 3> order{Part::adapter, Part::miniport, Part::port};
  do {
    for (const bool worker : {false, true}) out.push_back({order, worker, false});
    out.push_back({order, false, true});
  } while (std::next_permutation(order.begin(), order.end()));
  return out;
}

INSTANTIATE_TEST_SUITE_P(Orders, Teardown, ::testing::ValuesIn(teardown_cases()), order_name);

// --- Buffers over no memory ----------------------------------------------------------------------

TEST(DpdkBuffers, R10_ABufferOverNoMemoryNeverReachesTheCaptureAndFailsAsInvalidPacket) {
  PacketFactory f(16);
  DpdkHarness h;
  h.open(port_named("net_pcap0"));
  Frames frames(4, 80);
  Packet* good = packet_over(f, frames.data[0]);
  Packet* nulled = packet_over(f, frames.data[1]);
  Packet* chain = packet_over(f, frames.data[2], 2);
  Packet* last = packet_over(f, frames.data[3]);
  PacketCounts counts;
  for (Packet* p : {nulled, chain}) ASSERT_EQ(p->query(counts), Status::success);  // counted while valid
  nulled->first_buffer()->address = nullptr;                   // then broken behind the chain's back
  chain->first_buffer()->next->address = nullptr;
  Buffer* refused = nullptr;
  EXPECT_EQ(f.buffers->allocate(refused, nullptr, 64), Status::invalid_data);  // refused where made
  Packet* array[] = {good, nulled, chain, last};
  send_packets(h.proto.binding, array, 4);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 4; }));
  EXPECT_EQ(h.proto.status_of(good), Status::success);
  EXPECT_EQ(h.proto.status_of(nulled), Status::invalid_packet);
  EXPECT_EQ(h.proto.status_of(chain), Status::invalid_packet);
  EXPECT_EQ(h.proto.status_of(last), Status::success);
  EXPECT_EQ(send(h.proto.binding, nulled), Status::invalid_packet);  // refused at once (R1)
  h.stack.reset();
  const auto captured = read_capture();
  ASSERT_EQ(captured.size(), 2u);
  EXPECT_EQ(captured[0], frames.data[0]);
  EXPECT_EQ(captured[1], frames.data[3]);
}

// --- Bindings ------------------------------------------------------------------------------------

TEST(DpdkBindings, R11_FiveThousandOpenCloseCyclesOnOnePort) {
  PacketFactory f(4);
  DpdkHarness h;
  h.open(port_named("net_null0"));
  Frames frames(1, 64);
  Packet* p = packet_over(f, frames.data[0]);
  rte_eth_stats before{};
  ASSERT_EQ(rte_eth_stats_get(h.port().id(), &before), 0);
  for (int cycle = 0; cycle < 5000; ++cycle) {
    RecordingProtocol proto;
    ASSERT_EQ(testing_support::open_into(h.adapter(), proto.characteristics(), &proto, proto.binding), Status::success) << cycle;
    send_packets(proto.binding, &p, 1);
    ASSERT_TRUE(poll_until(h.adapter(), [&] { return proto.completed() == 1; })) << cycle;
    ASSERT_EQ(close_adapter(proto.binding), Status::success);
  }
  EXPECT_EQ(h.adapter().counters().completed_ok, 5000u);
  rte_eth_stats stats{};
  ASSERT_EQ(rte_eth_stats_get(h.port().id(), &stats), 0);
  EXPECT_EQ(stats.opackets - before.opackets, 5000u);
}

TEST(DpdkLifetimes, OneAdapterPerMiniport) {
  DpdkHarness h;
  h.open(port_named("net_null0"));
  auto second = Adapter::create(h.miniport().characteristics(), &h.miniport());
  EXPECT_FALSE(second.has_value());
}

}  // namespace
}  // namespace pkio
