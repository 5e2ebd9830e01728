// Packet model costs: pool allocate/free (single thread and contended) and chain + query.
#include <benchmark/benchmark.h>

#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>

namespace pkio {
namespace {

void BM_PacketPoolAllocateFree(benchmark::State& state) {
  auto pool = PacketPool::create(1024, 16).value();
  for (auto _ : state) {
    Packet* p = nullptr;
    benchmark::DoNotOptimize(pool->allocate(p));
    benchmark::DoNotOptimize(pool->free(p));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacketPoolAllocateFree);

void BM_PacketPoolAllocateFreeContended(benchmark::State& state) {
  static std::unique_ptr<PacketPool> pool;
  if (state.thread_index() == 0) pool = PacketPool::create(4096, 16).value();
  for (auto _ : state) {
    Packet* p = nullptr;
    if (pool->allocate(p) == Status::success) pool->free(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PacketPoolAllocateFreeContended)->Threads(2)->UseRealTime();

void BM_ChainAndQuery(benchmark::State& state) {
  const auto buffers_per_packet = static_cast<int>(state.range(0));
  auto packets = PacketPool::create(1, 0).value();
  auto buffers = BufferPool::create(64).value();
  std::byte memory[64];
  Packet* p = nullptr;
  (void)packets->allocate(p);
  Buffer* chain[64];
  for (int i = 0; i < buffers_per_packet; ++i) (void)buffers->allocate(chain[i], memory, 64);
  for (auto _ : state) {
    for (int i = 0; i < buffers_per_packet; ++i) (void)p->chain_at_back(chain[i]);
    benchmark::DoNotOptimize(p->total_length());
    while (p->unchain_at_front() != nullptr) {
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ChainAndQuery)->Arg(1)->Arg(4)->Arg(16);

}  // namespace
}  // namespace pkio

BENCHMARK_MAIN();
