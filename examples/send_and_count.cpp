// Example: a protocol that sends arrays of packets on a DPDK port and counts the completions
// by status. Run: send_and_count [EAL args] -- (default: net_null, no hardware).
//
// The steps every pkio protocol takes: bring up EAL and a port with a DpdkMiniport on a TX
// queue and an Adapter over it (dpdk::Stack does all three), open a binding with a
// send_complete handler, then send. Every packet comes back exactly once through the handler,
// with its final status.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <pkio/buffer_pool.h>
#include <pkio/dpdk/eal.h>
#include <pkio/dpdk/stack.h>
#include <pkio/packet_pool.h>

namespace {

struct Counter {
  std::map<std::string, unsigned> by_status;
  unsigned total = 0;
};

// ProtocolSendComplete: called on the adapter's worker thread (here: this thread, inside
// send_packets or poll), with no lock held. The packets are ours again.
void on_send_complete(void* context, pkio::Packet* const* packets, uint32_t count) noexcept {
  auto& counter = *static_cast<Counter*>(context);
  for (uint32_t i = 0; i < count; ++i) ++counter.by_status[std::string(pkio::to_string(packets[i]->oob.status))];
  counter.total += count;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "send_and_count: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pkio;
  std::vector<std::string> eal, app;
  dpdk::split_args(argc, argv, eal, app);
  auto stack = dpdk::Stack::open({.eal_args = eal});  // run-to-completion: this thread is the worker
  if (!stack) return fail(stack.error().message);
  Adapter& adapter = (*stack)->adapter();

  Counter counter;
  ProtocolCharacteristics protocol;
  protocol.send_complete = &on_send_complete;
  auto bound = (*stack)->bind(protocol, &counter);
  if (!bound) return fail(bound.error().message);
  Binding* binding = *bound;

  // Ask the batch limit first, as the NDIS documents advise (OID_GEN_MAXIMUM_SEND_PACKETS).
  uint32_t max_send = 0, written = 0, needed = 0;
  if (query_information(binding, Oid::maximum_send_packets, &max_send, sizeof max_send, &written, &needed) !=
      Status::success)
    return fail("OID_GEN_MAXIMUM_SEND_PACKETS");

  // 64 packets over one 64-byte frame; the last one is too long on purpose (invalid_packet).
  auto packets = PacketPool::create(64, 0);
  auto buffers = BufferPool::create(64);
  if (!packets || !buffers) return fail("cannot make the pools");
  static uint8_t frame[64] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};
  static uint8_t jumbo[9000] = {};
  std::vector<Packet*> array;
  for (int i = 0; i < 64; ++i) {
    Packet* p = nullptr;
    Buffer* b = nullptr;
    if ((*packets)->allocate(p) != Status::success ||
        (*buffers)->allocate(b, i == 63 ? jumbo : frame, i == 63 ? sizeof jumbo : sizeof frame) != Status::success ||
        p->chain_at_back(b) != Status::success)
      return fail("cannot build the packets");
    array.push_back(p);
  }
  for (int round = 0; round < 1000; ++round) {
    send_packets(binding, array.data(), static_cast<uint32_t>(array.size()));
    while (counter.total < (round + 1) * array.size()) adapter.poll();  // all back: reuse them
  }
  (void)close_adapter(binding);

  std::printf("maximum_send_packets %u; %u completions:", max_send, counter.total);
  for (auto& [status, n] : counter.by_status) std::printf(" %s=%u", status.c_str(), n);
  std::printf("\n");
  return counter.by_status["success"] == 63000 && counter.by_status["invalid_packet"] == 1000 ? 0 : 1;
}
