// Example: a minimal generator loop paced by an in-flight window: at most W packets sent and
// not yet completed. Only possible because pkio completes every packet. On net_null every
// packet completes inside send_packets, so the window never closes; on net_ring or a NIC,
// where completion waits for the consumer or the device, it does.
// Run: window_generator [EAL args] -- (default: net_null).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <pkio/adapter.h>
#include <pkio/dpdk/miniport.h>
#include <pkio/dpdk/eal.h>
#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>
#include <pkio/protocol.h>

namespace {
std::vector<pkio::Packet*> ready;  // completed packets, sent again (reuse beats release)
void on_send_complete(void*, pkio::Packet* const* packets, uint32_t n) noexcept {
  ready.insert(ready.end(), packets, packets + n);
}
}  // namespace

int main(int argc, char** argv) {
  using namespace pkio;
  constexpr uint32_t window = 64, pool_size = 1024;
  std::vector<std::string> eal, app;
  dpdk::split_args(argc, argv, eal, app);
  std::string error;
  std::unique_ptr<dpdk::Port> port;
  std::unique_ptr<dpdk::DpdkMiniport> miniport;
  std::unique_ptr<Adapter> adapter;
  if (dpdk::eal_init(eal, &error) != Status::success || dpdk::Port::open(0, {}, port, &error) != Status::success ||
      dpdk::DpdkMiniport::create(*port, {}, miniport, &error) != Status::success ||
      Adapter::create(miniport->characteristics(), miniport.get(), {}, adapter, &error) != Status::success) {
    std::fprintf(stderr, "window_generator: %s\n", error.c_str());
    return 2;
  }
  ProtocolCharacteristics pc;
  pc.send_complete = &on_send_complete;
  Binding* binding = nullptr;
  (void)open_adapter(*adapter, pc, nullptr, binding);

  auto packets = PacketPool::create(pool_size, 0);
  auto buffers = BufferPool::create(pool_size);
  // Each packet's frame in the miniport's own mbufs (the fastest send), else one of our own.
  static uint8_t own_frame[64] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};
  std::vector<dpdk::FrameMemory> frames;
  if (miniport->allocate_frames(pool_size, sizeof own_frame, frames, &error) != Status::success)
    std::fprintf(stderr, "window_generator: %s; sending one frame of our own\n", error.c_str());
  ready.reserve(pool_size);
  for (uint32_t i = 0; i < pool_size; ++i) {
    uint8_t* frame = frames.empty() ? own_frame : frames[i].address;
    if (frame != own_frame) std::copy(own_frame, own_frame + sizeof own_frame, frame);
    Packet* p = nullptr;
    Buffer* b = nullptr;
    (void)packets->allocate(p);
    (void)buffers->allocate(b, frame, sizeof own_frame);
    (void)p->chain_at_back(b);
    ready.push_back(p);
  }

  uint64_t sent = 0, max_in_flight = 0;  // measured after each send, before completions are reaped
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < end) {
    const uint64_t in_flight = pool_size - ready.size();
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>({32, window - in_flight, ready.size()}));
    if (n == 0) {
      adapter->poll();  // wait for completions to open the window
      continue;
    }
    // Take the packets off the list before sending: completions delivered inside send_packets
    // are appended to it, and they need not be the packets just sent.
    Packet* batch[32];
    std::copy(ready.end() - n, ready.end(), batch);
    ready.resize(ready.size() - n);
    send_packets(binding, batch, n);
    sent += n;
    max_in_flight = std::max<uint64_t>(max_in_flight, pool_size - ready.size());
  }
  while (!adapter->idle()) adapter->poll();
  std::printf("sent %llu packets in 1 s with at most %llu in flight (window %u)\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(max_in_flight), window);
  return max_in_flight <= window && ready.size() == pool_size ? 0 : 1;
}
