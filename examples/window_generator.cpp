// Example: a minimal generator loop paced by an in-flight window: at most W packets sent and
// not yet completed. Only possible because pkio completes every packet. On net_null every
// packet completes inside send_packets, so the window never closes; on net_ring or a NIC,
// where completion waits for the consumer or the device, it does.
// Run: window_generator [EAL args] -- (default: net_null).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <pkio/buffer_pool.h>
#include <pkio/dpdk/eal.h>
#include <pkio/dpdk/stack.h>
#include <pkio/packet_pool.h>

namespace {
std::vector<pkio::Packet*> ready;  // completed packets, sent again (reuse beats release)
void on_send_complete(void*, pkio::Packet* const* packets, uint32_t n) noexcept {
  ready.insert(ready.end(), packets, packets + n);
}
int fail(const std::string& why) {
  std::fprintf(stderr, "window_generator: %s\n", why.c_str());
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace pkio;
  constexpr uint32_t window = 64, pool_size = 1024;
  std::vector<std::string> eal, app;
  dpdk::split_args(argc, argv, eal, app);
  auto stack = dpdk::Stack::open({.eal_args = eal});  // EAL, port 0, a miniport and an adapter
  if (!stack) return fail(stack.error().message);
  Adapter& adapter = (*stack)->adapter();
  ProtocolCharacteristics pc;
  pc.send_complete = &on_send_complete;
  auto binding = (*stack)->bind(pc, nullptr);
  auto packets = PacketPool::create(pool_size, 0);
  auto buffers = BufferPool::create(pool_size);
  if (!binding || !packets || !buffers) return fail("cannot open a binding or make the pools");

  // Each packet's frame in the miniport's own mbufs (the fastest send), else one of our own.
  static uint8_t own_frame[64] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};
  auto frames = (*stack)->miniport().allocate_frames(pool_size, sizeof own_frame);
  if (!frames) std::fprintf(stderr, "window_generator: %s; sending one frame of our own\n", frames.error().message.c_str());
  ready.reserve(pool_size);
  for (uint32_t i = 0; i < pool_size; ++i) {
    uint8_t* frame = frames ? (*frames)[i].address : own_frame;
    if (frame != own_frame) std::copy(own_frame, own_frame + sizeof own_frame, frame);
    Packet* p = nullptr;
    Buffer* b = nullptr;
    if ((*packets)->allocate(p) != Status::success || (*buffers)->allocate(b, frame, sizeof own_frame) != Status::success ||
        p->chain_at_back(b) != Status::success)
      return fail("cannot build the packets");
    ready.push_back(p);
  }

  // In flight after each send, before this loop reaps completions. On a device that frees
  // frames at once (net_null) they complete inside the send call itself, so it stays at 0.
  uint64_t sent = 0, max_in_flight = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < end) {
    const uint64_t in_flight = pool_size - ready.size();
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>({32, window - in_flight, ready.size()}));
    if (n == 0) {
      adapter.poll();  // wait for completions to open the window
      continue;
    }
    // Take the packets off the list before sending: completions delivered inside send_packets
    // are appended to it, and they need not be the packets just sent.
    Packet* batch[32];
    std::copy(ready.end() - n, ready.end(), batch);
    ready.resize(ready.size() - n);
    send_packets(*binding, batch, n);
    sent += n;
    max_in_flight = std::max<uint64_t>(max_in_flight, pool_size - ready.size());
  }
  while (!adapter.idle()) adapter.poll();
  std::printf("sent %llu packets in 1 s with at most %llu in flight (window %u)\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(max_in_flight), window);
  return max_in_flight <= window && ready.size() == pool_size ? 0 : 1;
}
