// A DPDK port, a DpdkMiniport on it, an adapter and a recording protocol, for the DPDK
// integration tests.
#pragma once

#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstring>

#include "../conformance/fake_miniport.h"
#include "../conformance/poll_until.h"
#include "dpdk/dpdk_miniport.h"
#include "dpdk/port.h"

namespace pkio::testing_support {

struct DpdkHarness {
  std::unique_ptr<dpdk::Port> port;
  std::unique_ptr<dpdk::DpdkMiniport> miniport;
  std::unique_ptr<Adapter> adapter;
  RecordingProtocol proto;

  void open(uint16_t port_id, dpdk::MiniportConfig mc = {}, AdapterConfig ac = {},
            dpdk::PortConfig pc = {}) {
    std::string error;
    ASSERT_EQ(dpdk::Port::open(port_id, pc, port, &error), Status::success) << error;
    ASSERT_EQ(dpdk::DpdkMiniport::create(*port, mc, miniport, &error), Status::success) << error;
    ASSERT_EQ(Adapter::create(miniport->characteristics(), miniport.get(), ac, adapter, &error),
              Status::success)
        << error;
    miniport->attach(*adapter);
    proto.open(*adapter);
  }
  ~DpdkHarness() {
    adapter.reset();  // halts: every packet completes before the port goes
    miniport.reset();
    port.reset();
  }
};

/// A net_ring port whose TX side the test reads from `tx` (the test is the consumer).
struct RingPort {
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;
  uint16_t port_id = 0;
  explicit RingPort(const std::string& name, unsigned size = 1024) {
    rx = rte_ring_create((name + "_rx").c_str(), size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    tx = rte_ring_create((name + "_tx").c_str(), size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    const int id = rte_eth_from_rings(name.c_str(), &rx, 1, &tx, 1, 0);
    EXPECT_GE(id, 0);
    port_id = static_cast<uint16_t>(id);
  }
  /// Dequeues up to n frames (the caller frees them with rte_pktmbuf_free).
  std::vector<rte_mbuf*> take(unsigned n = 4096) {
    std::vector<rte_mbuf*> out(n);
    const unsigned got = rte_ring_dequeue_burst(tx, reinterpret_cast<void**>(out.data()), n, nullptr);
    out.resize(got);
    return out;
  }
  ~RingPort() {
    rte_ring_free(rx);
    rte_ring_free(tx);
  }
};

inline std::vector<uint8_t> frame_bytes(const rte_mbuf* m) {
  std::vector<uint8_t> out(rte_pktmbuf_pkt_len(m));
  const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(out.size()), out.data());
  if (p != out.data()) std::memcpy(out.data(), p, out.size());
  return out;
}

}  // namespace pkio::testing_support
