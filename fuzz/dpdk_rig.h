// The DPDK side of the fuzz targets: EAL without hardware, a net_ring port whose far side the
// target reads, a DpdkMiniport (zero-copy, 802.1Q by software) on it, a run-to-completion
// adapter and a binding whose send_complete records every completion.
#pragma once

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include <pkio/dpdk/eal.h>
#include <pkio/dpdk/stack.h>

namespace pkio::fuzz {

struct DpdkRig {
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;  // what the port sent; the target is its consumer
  std::unique_ptr<dpdk::Stack> stack;
  Adapter* adapter = nullptr;
  dpdk::DpdkMiniport* miniport = nullptr;
  Binding* binding = nullptr;
  std::vector<Packet*> completed;  // every send_complete, in order

  static void on_complete(void* context, Packet* const* packets, uint32_t count) noexcept {
    auto* rig = static_cast<DpdkRig*>(context);
    rig->completed.insert(rig->completed.end(), packets, packets + count);
  }

  /// `mtu` 0 keeps the PMD's (1500); packet_to_mbuf asks for 9000 to reach jumbo buffers.
  explicit DpdkRig(uint16_t mtu = 0) {
    const std::vector<std::string> eal = {"pkio-fuzz", "--no-huge", "--no-shconf", "-m", "256", "--no-pci",
                                          "--no-telemetry", "--log-level=error", "-l", "0"};
    auto up = dpdk::eal_init(eal);
    FUZZ_CHECK(up.has_value(), "EAL: %s", up ? "" : up.error().message.c_str());
    rx = rte_ring_create("fuzz_rx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    tx = rte_ring_create("fuzz_tx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    const int id = rte_eth_from_rings("fuzz_ring", &rx, 1, &tx, 1, 0);
    FUZZ_CHECK(id >= 0, "net_ring port");
    dpdk::StackConfig config;
    config.port = std::to_string(id);
    config.port_config.mtu = mtu;
    config.miniport.priority_8021p = true;
    auto opened = dpdk::Stack::open(config);
    FUZZ_CHECK(opened.has_value(), "%s", opened ? "" : opened.error().message.c_str());
    stack = std::move(*opened);
    adapter = &stack->adapter();
    miniport = &stack->miniport();
    ProtocolCharacteristics pc;
    pc.send_complete = &DpdkRig::on_complete;
    auto b = stack->bind(pc, this);
    FUZZ_CHECK(b.has_value(), "open_adapter");
    binding = *b;
  }

  /// Polls until `n` completions arrived or a bound passes (then the check fails).
  void wait_completions(size_t n) {
    for (int i = 0; i < 100000 && completed.size() < n; ++i) adapter->poll();
    FUZZ_CHECK(completed.size() == n, "%zu completions, expected %zu", completed.size(), n);
  }
};

}  // namespace pkio::fuzz
