// pkio's queues, pools and completion delivery beside their DPDK counterparts, in one binary:
// MpmcRing vs rte_ring (MP/MC, one element), PacketMpscQueue vs rte_ring burst, PacketPool vs
// rte_mempool, and the dispatcher's completion delivery vs a bare handler call per batch.
// Reports items/s and cycles per item; compare within one run.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstdio>
#include <vector>

#include <pkio/adapter.h>
#include "eal_benchmark_main.h"
#include <pkio/detail/packet_queue.h>
#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>
#include <pkio/detail/mpmc_ring.h>

namespace pkio {
namespace {

void cycles_per_item(benchmark::State& state, uint64_t items, uint64_t cycles) {
  state.SetItemsProcessed(static_cast<int64_t>(items));
  state.counters["cycles_per_item"] = items ? static_cast<double>(cycles) / static_cast<double>(items) : 0;
}

void BM_MpmcRingPushPop(benchmark::State& state) {
  MpmcRing<uint32_t> ring(1024);
  uint32_t v = 0;
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    ring.try_push(v);
    ring.try_pop(v);
    benchmark::DoNotOptimize(v);
  }
  cycles_per_item(state, state.iterations(), rte_rdtsc() - start);
}
BENCHMARK(BM_MpmcRingPushPop);

void BM_RteRingMpmcEnqueueDequeue(benchmark::State& state) {
  rte_ring* ring = rte_ring_create("bench_mpmc", 1024, SOCKET_ID_ANY, 0);
  void* v = nullptr;
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    rte_ring_enqueue(ring, v);
    rte_ring_dequeue(ring, &v);
    benchmark::DoNotOptimize(v);
  }
  cycles_per_item(state, state.iterations(), rte_rdtsc() - start);
  rte_ring_free(ring);
}
BENCHMARK(BM_RteRingMpmcEnqueueDequeue);

/// Packets to move around (only their link fields are used).
std::vector<Packet*>& bench_packets() {
  static std::unique_ptr<PacketPool> pool = PacketPool::create(1024, 0).value();
  static std::vector<Packet*> packets = [] {
    std::vector<Packet*> v;
    for (int i = 0; i < 1024; ++i) {
      Packet* p = nullptr;
      (void)pool->allocate(p);
      v.push_back(p);
    }
    return v;
  }();
  return packets;
}

void BM_PacketMpscQueueBurst(benchmark::State& state) {
  const auto burst = static_cast<uint32_t>(state.range(0));
  auto& pkts = bench_packets();
  PacketMpscQueue q;
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    for (uint32_t i = 0; i + 1 < burst; ++i) pkts[i]->tracking.next.store(pkts[i + 1], std::memory_order_relaxed);
    q.push_chain(pkts[0], pkts[burst - 1]);
    for (uint32_t i = 0; i < burst; ++i) benchmark::DoNotOptimize(q.pop());
  }
  cycles_per_item(state, state.iterations() * burst, rte_rdtsc() - start);
}
BENCHMARK(BM_PacketMpscQueueBurst)->Arg(1)->Arg(8)->Arg(32);

void BM_RteRingBurst(benchmark::State& state) {
  const auto burst = static_cast<uint32_t>(state.range(0));
  auto& pkts = bench_packets();
  rte_ring* ring = rte_ring_create("bench_burst", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
  void* out[64];
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    rte_ring_enqueue_burst(ring, reinterpret_cast<void* const*>(pkts.data()), burst, nullptr);
    benchmark::DoNotOptimize(rte_ring_dequeue_burst(ring, out, burst, nullptr));
  }
  cycles_per_item(state, state.iterations() * burst, rte_rdtsc() - start);
  rte_ring_free(ring);
}
BENCHMARK(BM_RteRingBurst)->Arg(1)->Arg(8)->Arg(32);

void BM_PacketPoolAllocateFree(benchmark::State& state) {
  auto pool = PacketPool::create(1024, 16).value();
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    Packet* p = nullptr;
    benchmark::DoNotOptimize(pool->allocate(p));
    pool->free(p);
  }
  cycles_per_item(state, state.iterations(), rte_rdtsc() - start);
}
BENCHMARK(BM_PacketPoolAllocateFree);

void BM_RteMempoolGetPut(benchmark::State& state) {
  rte_mempool* mp = rte_mempool_create("bench_pool", 1023, 256, 256, 0, nullptr, nullptr, nullptr, nullptr,
                                       SOCKET_ID_ANY, 0);
  void* obj = nullptr;
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    rte_mempool_get(mp, &obj);
    benchmark::DoNotOptimize(obj);
    rte_mempool_put(mp, obj);
  }
  cycles_per_item(state, state.iterations(), rte_rdtsc() - start);
  rte_mempool_free(mp);
}
BENCHMARK(BM_RteMempoolGetPut);

/// A miniport that completes every packet inside send_packets: what is left is the
/// dispatcher's own per-packet work, submission to delivery.
struct InlineMiniport {
  static void send_packets(void*, Packet* const* packets, uint32_t n) noexcept {
    for (uint32_t i = 0; i < n; ++i) packets[i]->oob.status = Status::success;
  }
  static Status query(void*, Oid oid, void* buffer, uint32_t length, uint32_t* written, uint32_t* needed) noexcept {
    static uint32_t batch = 32;
    if (oid == Oid::maximum_send_packets) return answer_query(&batch, 4, buffer, length, written, needed);
    *written = *needed = 0;
    return Status::not_supported;
  }
};
std::vector<Packet*> delivered;
void on_complete(void*, Packet* const* packets, uint32_t n) noexcept { delivered.insert(delivered.end(), packets, packets + n); }

void BM_DispatcherSubmitToDelivery(benchmark::State& state) {
  const auto burst = static_cast<uint32_t>(state.range(0));
  MiniportCharacteristics mc;
  mc.send_packets = &InlineMiniport::send_packets;
  mc.query_information = &InlineMiniport::query;
  std::unique_ptr<Adapter> adapter = Adapter::create(mc, nullptr).value();
  ProtocolCharacteristics pc;
  pc.send_complete = &on_complete;
  Binding* binding = open_adapter(*adapter, pc, nullptr).value();
  auto packets = PacketPool::create(256, 0).value();
  auto buffers = BufferPool::create(256).value();
  static uint8_t frame[64];
  std::vector<Packet*> batch;
  for (uint32_t i = 0; i < burst; ++i) {
    Packet* p = nullptr;
    Buffer* b = nullptr;
    (void)packets->allocate(p);
    (void)buffers->allocate(b, frame, 64);
    (void)p->chain_at_back(b);
    batch.push_back(p);
  }
  delivered.reserve(1024);
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    send_packets(binding, batch.data(), burst);
    delivered.clear();
  }
  cycles_per_item(state, state.iterations() * burst, rte_rdtsc() - start);
}
BENCHMARK(BM_DispatcherSubmitToDelivery)->Arg(1)->Arg(8)->Arg(32);

// Baseline for delivery: the same handler called once per array, nothing else.
void BM_BareHandlerCall(benchmark::State& state) {
  const auto burst = static_cast<uint32_t>(state.range(0));
  std::vector<Packet*>& pkts = bench_packets();
  void (*volatile handler)(void*, Packet* const*, uint32_t) noexcept = &on_complete;
  delivered.reserve(1024);
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    handler(nullptr, pkts.data(), burst);
    delivered.clear();
  }
  cycles_per_item(state, state.iterations() * burst, rte_rdtsc() - start);
}
BENCHMARK(BM_BareHandlerCall)->Arg(1)->Arg(8)->Arg(32);

}  // namespace
}  // namespace pkio

int main(int argc, char** argv) { return pkio::bench::run_benchmarks_with_eal(argc, argv, {}); }
