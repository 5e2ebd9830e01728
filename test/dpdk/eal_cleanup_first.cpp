// eal_cleanup() called while a port, its miniport and an adapter are still alive, with
// packets in flight on a net_ring nobody reads: every packet completes exactly once (the
// adapter is halted first), and destroying the objects afterwards touches no dead EAL memory.
// Its own program because it ends the process's EAL. Exit 0 if all that held.
#include <rte_eth_ring.h>
#include <rte_ring.h>

#include <cstdio>
#include <map>

#include <pkio/dpdk/eal.h>
#include <pkio/dpdk/stack.h>
#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>

namespace {
std::map<pkio::Packet*, int> completions;
pkio::Status last_status = pkio::Status::pending;
void on_complete(void*, pkio::Packet* const* packets, uint32_t n) noexcept {
  for (uint32_t i = 0; i < n; ++i) {
    ++completions[packets[i]];
    last_status = packets[i]->oob.status;
  }
}
int fail(const char* what) {
  std::fprintf(stderr, "eal_cleanup_first: %s\n", what);
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace pkio;
  std::vector<std::string> eal{argv[0], "--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0",
                               "--log-level=lib.eal:error"};
  (void)argc;
  if (auto up = dpdk::eal_init(eal); !up) return fail(up.error().message.c_str());
  rte_ring* rx = rte_ring_create("cleanup_rx", 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* tx = rte_ring_create("cleanup_tx", 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  const int port_id = rte_eth_from_rings("cleanup", &rx, 1, &tx, 1, 0);
  if (port_id < 0) return fail("no net_ring port");
  dpdk::StackConfig config;
  config.port = std::to_string(port_id);
  config.port_config.mbufs = 1023;
  auto stack = dpdk::Stack::open(config);
  if (!stack) return fail(stack.error().message.c_str());
  ProtocolCharacteristics protocol;
  protocol.send_complete = &on_complete;
  auto binding = (*stack)->bind(protocol, nullptr);
  if (!binding) return fail(binding.error().message.c_str());
  auto packets = PacketPool::create(32, 0).value();
  auto buffers = BufferPool::create(32).value();
  static uint8_t frame[64] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  Packet* array[32];
  for (Packet*& p : array) {
    Buffer* b = nullptr;
    if (packets->allocate(p) != Status::success || buffers->allocate(b, frame, sizeof frame) != Status::success ||
        p->chain_at_back(b) != Status::success)
      return fail("packets");
  }
  send_packets(*binding, array, 32);
  if (!completions.empty()) return fail("completed before anyone read the ring");
  dpdk::eal_cleanup();  // with everything still up
  if (completions.size() != 32) return fail("not every packet completed at eal_cleanup");
  for (auto& [p, n] : completions)
    if (n != 1) return fail("a packet completed twice");
  if (last_status != Status::request_aborted) return fail("not completed with request_aborted");
  stack->reset();  // adapter, miniport, port: all closed already
  if (completions.size() != 32) return fail("completions after eal_cleanup");
  std::printf("eal_cleanup_first: 32 packets in flight at eal_cleanup completed once each (request_aborted)\n");
  return 0;
}
