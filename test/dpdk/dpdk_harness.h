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
#include <pkio/dpdk/stack.h>

namespace pkio::testing_support {

/// A port brought up with a Lane (a DpdkMiniport and the adapter over it) through the
/// Stack helper, and a recording protocol bound to it.
struct DpdkHarness {
  std::unique_ptr<dpdk::Stack> stack;
  RecordingProtocol proto;

  void open(uint16_t port_id, dpdk::MiniportConfig mc = {}, AdapterConfig ac = {},
            dpdk::PortConfig pc = {}) {
    dpdk::StackConfig config;
    config.port = std::to_string(port_id);
    config.port_config = pc;
    config.miniport = mc;
    config.adapter = ac;
    auto s = dpdk::Stack::open(config);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    stack = std::move(*s);
    proto.open(adapter());
  }
  ~DpdkHarness() { stack.reset(); }  // halts: every packet completes while proto still exists
  Adapter& adapter() { return stack->adapter(); }
  dpdk::DpdkMiniport& miniport() { return stack->miniport(); }
  dpdk::Port& port() { return stack->port(); }
  /// Every zero-copy slot is spare again (polling until the last freed ones are reaped): the
  /// slots' pool is back at its starting level, as the port's pool must be.
  void expect_all_slots_spare() {
    EXPECT_TRUE(testing_support::poll_until(
        adapter(), [&] { return miniport().zero_copy_slots_spare() == miniport().zero_copy_slots(); }))
        << miniport().zero_copy_slots_spare() << " of " << miniport().zero_copy_slots() << " slots spare";
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
  // Closing gives the port id back: a process has only RTE_MAX_ETHPORTS of them.
  ~RingPort() {
    rte_eth_dev_close(port_id);
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

/// The ring's consumer: takes up to `n` frames, keeps their bytes in `seen`, frees the mbufs.
inline void consume(RingPort& ring, std::vector<std::vector<uint8_t>>& seen, unsigned n = 4096) {
  for (rte_mbuf* m : ring.take(n)) {
    seen.push_back(frame_bytes(m));
    rte_pktmbuf_free(m);
  }
}

/// A name no other test in this process used (ports and rings need unique names).
inline std::string unique_name(const char* base) {
  static int counter = 0;
  return std::string(base) + std::to_string(counter++);
}

/// Frame memory owned by a test: `count` frames of `size` bytes, byte j of frame i = i*7+j.
struct Frames {
  std::vector<std::vector<uint8_t>> data;
  Frames(uint32_t count, uint32_t size) : data(count, std::vector<uint8_t>(size)) {
    for (uint32_t i = 0; i < count; ++i)
      for (uint32_t j = 0; j < size; ++j) data[i][j] = static_cast<uint8_t>(i * 7 + j);
  }
};

/// A packet over `bytes`, split into `pieces` buffers.
inline Packet* packet_over(PacketFactory& f, std::vector<uint8_t>& bytes, uint32_t pieces = 1) {
  Packet* p = nullptr;
  EXPECT_EQ(f.packets->allocate(p), Status::success);
  const auto size = static_cast<uint32_t>(bytes.size());
  uint32_t off = 0;
  for (uint32_t k = 0; k < pieces; ++k) {
    const uint32_t len = k + 1 == pieces ? size - off : size / pieces;
    Buffer* b = nullptr;
    EXPECT_EQ(f.buffers->allocate(b, bytes.data() + off, len), Status::success);
    EXPECT_EQ(p->chain_at_back(b), Status::success);
    off += len;
  }
  return p;
}

}  // namespace pkio::testing_support
