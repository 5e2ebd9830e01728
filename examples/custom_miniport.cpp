// Example: a miniport of your own, with no DPDK at all, plugged into the dispatcher.
//
// This one is deserialized (it completes every packet itself through send_complete) and
// pretends to be a device with a 16-slot transmit ring that "transmits" one slot per poll:
// packets wait in its ring, and it answers OID_GEN_MAXIMUM_SEND_PACKETS with 8, so the
// dispatcher hands it arrays of at most 8 packets.
#include <cstdio>
#include <deque>

#include <pkio/adapter.h>
#include <pkio/miniport.h>
#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>
#include <pkio/protocol.h>

namespace {

struct SlowDevice {
  pkio::Adapter* adapter = nullptr;
  std::deque<pkio::Packet*> ring;  // example code: a real miniport would not allocate here
  unsigned largest_array = 0;
  uint64_t bytes = 0;

  // MiniportInitialize: the adapter this device reports its completions to.
  static pkio::Status initialize(void* context, pkio::Adapter& adapter) noexcept {
    static_cast<SlowDevice*>(context)->adapter = &adapter;
    return pkio::Status::success;
  }
  // MiniportSendPackets: take the whole array; it completes later, from poll.
  static void send_packets(void* context, pkio::Packet* const* packets, uint32_t n) noexcept {
    auto& self = *static_cast<SlowDevice*>(context);
    if (n > self.largest_array) self.largest_array = n;
    for (uint32_t i = 0; i < n; ++i) self.ring.push_back(packets[i]);
  }
  // The poll step: one packet leaves the device, and NdisMSendComplete reports it.
  static void poll(void* context) noexcept {
    auto& self = *static_cast<SlowDevice*>(context);
    if (self.ring.empty()) return;
    pkio::Packet* p = self.ring.front();
    self.ring.pop_front();
    self.bytes += p->total_length();
    pkio::send_complete(*self.adapter, p, pkio::Status::success);
  }
  // MiniportQueryInformation: the batch limit; everything else is not ours to answer.
  static pkio::Status query(void*, pkio::Oid oid, void* buffer, uint32_t length, uint32_t* written,
                            uint32_t* needed) noexcept {
    if (oid == pkio::Oid::maximum_send_packets) {
      const uint32_t eight = 8;
      return pkio::answer_query(&eight, sizeof eight, buffer, length, written, needed);
    }
    *written = *needed = 0;
    return pkio::Status::not_supported;
  }
  // MiniportHalt: whatever is still in the ring is aborted, so every packet still completes.
  static void halt(void* context) noexcept {
    auto& self = *static_cast<SlowDevice*>(context);
    for (pkio::Packet* p : self.ring) pkio::send_complete(*self.adapter, p, pkio::Status::request_aborted);
    self.ring.clear();
  }
};

unsigned completed = 0;
void on_send_complete(void*, pkio::Packet* const*, uint32_t n) noexcept { completed += n; }

}  // namespace

int main() {
  using namespace pkio;
  SlowDevice device;
  MiniportCharacteristics mc;
  mc.initialize = &SlowDevice::initialize;
  mc.send_packets = &SlowDevice::send_packets;
  mc.poll = &SlowDevice::poll;
  mc.query_information = &SlowDevice::query;
  mc.halt = &SlowDevice::halt;
  mc.deserialized = true;
  auto created = Adapter::create(mc, &device);  // calls SlowDevice::initialize
  if (!created) {
    std::fprintf(stderr, "custom_miniport: %s\n", created.error().message.c_str());
    return 2;
  }
  Adapter& adapter = **created;

  ProtocolCharacteristics pc;
  pc.send_complete = &on_send_complete;
  auto binding = open_adapter(adapter, pc, nullptr);
  auto packets = PacketPool::create(100, 0);
  auto buffers = BufferPool::create(100);
  if (!binding || !packets || !buffers) return 2;
  static uint8_t payload[100];
  Packet* array[100];
  for (auto& p : array) {
    Buffer* b = nullptr;
    if ((*packets)->allocate(p) != Status::success || (*buffers)->allocate(b, payload, sizeof payload) != Status::success ||
        p->chain_at_back(b) != Status::success)
      return 2;
  }
  send_packets(*binding, array, 100);
  while (completed < 100) adapter.poll();
  std::printf("100 packets through a custom miniport: %u completed, %llu bytes, largest array %u\n", completed,
              static_cast<unsigned long long>(device.bytes), device.largest_array);
  return completed == 100 && device.largest_array == 8 ? 0 : 1;
}
