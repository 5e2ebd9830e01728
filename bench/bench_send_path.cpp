// Send path cost by burst size on net_null, each pkio path beside a raw DPDK baseline in the
// same binary: raw (rte_pktmbuf_alloc_bulk + rte_eth_tx_burst), the miniport alone, pkio
// inline (run-to-completion adapter) and pkio cross-thread (producer here, worker on another
// core). Every pkio packet is completed back to its protocol. Reports items/s and
// cycles_per_packet; compare ratios within one run only.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <cstring>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <thread>
#include <vector>

#include <pkio/adapter.h>
#include "eal_benchmark_main.h"
#include <pkio/dpdk/stack.h>
#include "dpdk/mbuf_slots.h"
#include <pkio/dpdk/port.h>
#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>

namespace pkio {
namespace {

constexpr uint32_t frame_size = 64;
constexpr uint32_t packets_in_pool = 2048;
constexpr unsigned kept_mbufs = 1024;       // mbufs of the raw cases that keep theirs
alignas(64) uint8_t raw_frame[frame_size];  // what the raw zero-copy cases send


void report(benchmark::State& state, uint64_t packets, uint64_t cycles) {
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.counters["cycles_per_packet"] =
      packets ? static_cast<double>(cycles) / static_cast<double>(packets) : 0.0;
}

/// net_null0, opened once for the raw baselines (closed before EAL cleanup, in main).
std::unique_ptr<dpdk::Port> raw_port_kept;

dpdk::Port* raw_port(benchmark::State& state) {
  std::unique_ptr<dpdk::Port>& port = raw_port_kept;
  if (!port) {
    auto id = dpdk::Port::find("net_null0");
    auto opened = id ? dpdk::Port::open(*id) : tl::unexpected(id.error());
    if (!opened) {
      state.SkipWithError(opened.error().message.c_str());
      return nullptr;
    }
    port = std::move(*opened);
  }
  return port.get();
}

/// One burst of the raw loop: what testpmd's txonly does, without pkio. Returns packets sent.
inline uint16_t raw_burst(dpdk::Port& port, uint16_t burst) {
  rte_mbuf* mbufs[256];
  if (rte_pktmbuf_alloc_bulk(port.mempool(), mbufs, burst) != 0) return 0;
  for (uint16_t i = 0; i < burst; ++i) {
    mbufs[i]->data_len = frame_size;
    mbufs[i]->pkt_len = frame_size;
  }
  const uint16_t sent = rte_eth_tx_burst(port.id(), 0, mbufs, burst);
  if (sent < burst) rte_pktmbuf_free_bulk(mbufs + sent, burst - sent);
  return sent;
}

void BM_RawTxBurst(benchmark::State& state) {
  dpdk::Port* port = raw_port(state);
  if (port == nullptr) return;
  const auto burst = static_cast<uint16_t>(state.range(0));
  uint64_t packets = 0;
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) packets += raw_burst(*port, burst);
  report(state, packets, rte_rdtsc() - start);
}

/// Cycles per packet of the raw loop for `burst`, run for about `packets` packets: the
/// baseline each pkio case measures beside itself, so that its vs_raw ratio compares figures
/// taken seconds apart, not across separate runs.
double raw_cycles_per_packet(dpdk::Port& port, uint16_t burst, uint64_t packets) {
  uint64_t sent_total = 0;
  const uint64_t start = rte_rdtsc();
  while (sent_total < packets) sent_total += raw_burst(port, burst);
  return static_cast<double>(rte_rdtsc() - start) / static_cast<double>(sent_total);
}

/// Adds `vs_raw`: the raw loop's cycles per packet (measured before and after the case, on
/// net_null0) over this case's; 1.0 means as fast as raw DPDK.
void report_vs_raw(benchmark::State& state, uint64_t packets, uint64_t cycles, double raw_before) {
  report(state, packets, cycles);
  dpdk::Port* port = raw_port(state);
  if (port == nullptr || packets == 0) return;
  const double raw_after =
      raw_cycles_per_packet(*port, static_cast<uint16_t>(state.range(0)), packets / 4 + 1);
  const double pkio = static_cast<double>(cycles) / static_cast<double>(packets);
  state.counters["vs_raw"] = (raw_before + raw_after) / 2.0 / pkio;
}

/// The raw loop run in slices between stretches of a single-threaded pkio case, timed apart:
/// both rates then come from the same stretch of time. This shared machine has slow phases of
/// seconds, and a raw figure taken only before and after a case is skewed when one starts or
/// ends inside the case.
class InterleavedRaw {
 public:
  /// Every `slice` iterations of the case (check()), as many packets go through the raw loop.
  InterleavedRaw(benchmark::State& state, uint32_t burst) : port_(raw_port(state)), burst_(burst) {}
  /// Call once per iteration of the case; returns true on the iterations that ran a raw slice.
  bool check(benchmark::State& state) {
    if (port_ == nullptr || ++iterations_ % slice != 0) return false;
    const uint64_t paused_at = rte_rdtsc();
    state.PauseTiming();
    const uint64_t start = rte_rdtsc();
    uint64_t sent = 0;
    while (sent < uint64_t{slice} * burst_) sent += raw_burst(*port_, static_cast<uint16_t>(burst_));
    cycles_ += rte_rdtsc() - start;
    packets_ += sent;
    state.ResumeTiming();
    excluded_ += rte_rdtsc() - paused_at;
    return true;
  }
  /// Cycles the case must leave out of its own time: the raw slices and their pauses.
  [[nodiscard]] uint64_t excluded() const { return excluded_; }
  /// Adds cycles_per_packet and `vs_raw` (the raw slices' cycles per packet over the case's;
  /// 1.0 means as fast as raw DPDK) for a case that sent `packets` in `cycles`, raw excluded.
  void report(benchmark::State& state, uint64_t packets, uint64_t cycles) const {
    pkio::report(state, packets, cycles);
    if (packets_ == 0 || packets == 0) return;
    const double raw = static_cast<double>(cycles_) / static_cast<double>(packets_);
    state.counters["vs_raw"] = raw / (static_cast<double>(cycles) / static_cast<double>(packets));
  }

 private:
  static constexpr uint32_t slice = 1024;  // iterations: about a millisecond at burst 32
  dpdk::Port* port_;
  uint32_t burst_;
  uint64_t iterations_ = 0, cycles_ = 0, packets_ = 0, excluded_ = 0;
};

double raw_before(benchmark::State& state) {
  dpdk::Port* port = raw_port(state);
  return port ? raw_cycles_per_packet(*port, static_cast<uint16_t>(state.range(0)), 4'000'000) : 0.0;
}

// Raw DPDK zero-copy: alloc_bulk + rte_pktmbuf_attach_extbuf + tx_burst, with a free callback
// that counts completions. The floor for a miniport with true completion.
void count_free(void*, void* opaque) { ++*static_cast<uint64_t*>(opaque); }

void BM_RawExtbufTxBurst(benchmark::State& state) {
  dpdk::Port* port = raw_port(state);
  if (port == nullptr) return;
  const auto burst = static_cast<uint16_t>(state.range(0));
  uint64_t completed = 0;
  std::vector<rte_mbuf_ext_shared_info> shinfo(256);
  rte_mbuf* mbufs[256];
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    if (rte_pktmbuf_alloc_bulk(port->mempool(), mbufs, burst) != 0) continue;
    for (uint16_t i = 0; i < burst; ++i) {
      shinfo[i].free_cb = count_free;
      shinfo[i].fcb_opaque = &completed;
      rte_mbuf_ext_refcnt_set(&shinfo[i], 1);
      rte_pktmbuf_attach_extbuf(mbufs[i], raw_frame, reinterpret_cast<rte_iova_t>(raw_frame), frame_size, &shinfo[i]);
      mbufs[i]->data_len = frame_size;
      mbufs[i]->pkt_len = frame_size;
    }
    const uint16_t sent = rte_eth_tx_burst(port->id(), 0, mbufs, burst);
    if (sent < burst) rte_pktmbuf_free_bulk(mbufs + sent, burst - sent);
  }
  report(state, completed, rte_rdtsc() - start);
}

void keep_forever(void*, void*) {}

/// Attaches `m` for good to raw_frame, its external-buffer info at `info` (count 1, never freed).
void attach_kept(rte_mbuf* m, rte_mbuf_ext_shared_info* info) {
  info->free_cb = keep_forever;
  info->fcb_opaque = nullptr;
  rte_mbuf_ext_refcnt_set(info, 1);
  rte_pktmbuf_attach_extbuf(m, raw_frame, reinterpret_cast<rte_iova_t>(raw_frame), frame_size, info);
  m->data_len = frame_size;
  m->pkt_len = frame_size;
}

/// The timed loop of the kept-mbuf cases: lends `burst` mbufs from `ready` with a count of
/// `lent`, sends them, and takes back those whose count is `released` again (the PMD freed
/// them; one that holds them would complete later). Returns the packets completed.
uint64_t run_kept_mbufs(benchmark::State& state, uint16_t port, uint16_t burst, std::vector<rte_mbuf*>& ready,
                        std::vector<rte_mbuf*>& in_flight, uint16_t lent, uint16_t released) {
  rte_mbuf* mbufs[256];
  uint64_t completed = 0;
  for (auto _ : state) {
    for (uint16_t i = 0; i < burst; ++i) {
      mbufs[i] = ready.back();
      ready.pop_back();
      rte_mbuf_refcnt_set(mbufs[i], lent);
    }
    const uint16_t sent = rte_eth_tx_burst(port, 0, mbufs, burst);
    for (uint16_t i = sent; i < burst; ++i) {
      rte_mbuf_refcnt_set(mbufs[i], released);
      ready.push_back(mbufs[i]);
    }
    for (uint16_t i = 0; i < sent; ++i) {
      if (__atomic_load_n(&mbufs[i]->refcnt, __ATOMIC_ACQUIRE) == released) {
        ready.push_back(mbufs[i]);
        ++completed;
      } else {
        in_flight.push_back(mbufs[i]);
      }
    }
  }
  return completed;
}

// Raw DPDK, completion by reference count: each mbuf is attached to its frame once and kept;
// before a send its refcnt goes to 2, the PMD's free drops it back to 1 (a locked
// decrement), and seeing 1 again means the device is done with it. No allocation, attach or
// detach per send: how the miniport's zero-copy slots and frames (lib/dpdk/mbuf_slots.h)
// learn of a release by default.
void BM_RawRefcntTxBurst(benchmark::State& state) {
  dpdk::Port* port = raw_port(state);
  if (port == nullptr) return;
  const auto burst = static_cast<uint16_t>(state.range(0));
  static rte_mbuf_ext_shared_info shinfo[kept_mbufs];
  std::vector<rte_mbuf*> ready(kept_mbufs);
  if (rte_pktmbuf_alloc_bulk(port->mempool(), ready.data(), kept_mbufs) != 0) {
    state.SkipWithError("no mbufs");
    return;
  }
  for (unsigned i = 0; i < kept_mbufs; ++i) attach_kept(ready[i], &shinfo[i]);
  std::vector<rte_mbuf*> in_flight;
  const uint64_t start = rte_rdtsc();
  const uint64_t completed = run_kept_mbufs(state, port->id(), burst, ready, in_flight, 2, 1);  // ours + the PMD's
  report(state, completed, rte_rdtsc() - start);
  for (rte_mbuf* m : ready) rte_pktmbuf_free(m);
  for (rte_mbuf* m : in_flight) rte_pktmbuf_free(m);
}

// Raw DPDK, completion by pool return: each mbuf is attached to its frame once, in a pool
// without a cache whose driver (pkio's "pkio_slots", lib/dpdk/mbuf_slots.cpp) only marks a
// freed mbuf released (refcnt 0). Lent with a count of 1, so the PMD's free takes no locked
// instruction. Cheaper than the reference count in this loop, yet inside the miniport it was
// the slower signal (BM_MiniportOnly took a third longer with it), so the miniport no longer
// uses it by default; kept here to show the difference.
void collect(rte_mempool*, void* opaque, void* obj, unsigned) {
  static_cast<std::vector<rte_mbuf*>*>(opaque)->push_back(static_cast<rte_mbuf*>(obj));
}

void BM_RawPoolReturnTxBurst(benchmark::State& state) {
  dpdk::Port* port = raw_port(state);
  if (port == nullptr) return;
  const auto burst = static_cast<uint16_t>(state.range(0));
  static rte_mempool* mp = nullptr;
  static std::vector<rte_mbuf*> all;
  constexpr uint16_t priv = 64;
  if (mp == nullptr) {
    rte_mempool* made = rte_mempool_create_empty("raw_pool_return", kept_mbufs, sizeof(rte_mbuf) + priv + 256, 0,
                                                 sizeof(rte_pktmbuf_pool_private), SOCKET_ID_ANY, 0);
    rte_pktmbuf_pool_private layout{};
    layout.mbuf_data_room_size = 256;
    layout.mbuf_priv_size = priv;
    layout.flags = RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF;  // a free leaves the mbuf attached
    if (made == nullptr || rte_mempool_set_ops_byname(made, dpdk::slot_pool_ops_name, nullptr) != 0 ||
        (rte_pktmbuf_pool_init(made, &layout), rte_mempool_populate_default(made) < 0)) {
      rte_mempool_free(made);
      state.SkipWithError("cannot make a pool with the pkio_slots mempool driver");
      return;
    }
    mp = made;
    rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);
    rte_mempool_obj_iter(mp, collect, &all);
    for (rte_mbuf* m : all) {
      attach_kept(m, static_cast<rte_mbuf_ext_shared_info*>(rte_mbuf_to_priv(m)));
      m->refcnt = 0;  // released: in the pool, as far as the driver is concerned
    }
  }
  std::vector<rte_mbuf*> ready(all), in_flight;
  const uint64_t start = rte_rdtsc();
  const uint64_t completed = run_kept_mbufs(state, port->id(), burst, ready, in_flight, 1, 0);  // the PMD's
  report(state, completed, rte_rdtsc() - start);
}

/// Where the pkio cases' frames are: each packet's own frame in the miniport's mbufs
/// (DpdkMiniport::allocate_frames, as a generator builds them), or one frame of our own
/// memory shared by every packet (each send then borrows a zero-copy slot).
enum class FrameMemory { miniport_frames, shared_buffer };

/// Packets over their frames, and the protocol that recycles them on completion.
struct Sender {
  std::unique_ptr<PacketPool> packets = PacketPool::create(packets_in_pool, 0).value();
  std::unique_ptr<BufferPool> buffers = BufferPool::create(packets_in_pool).value();
  alignas(64) uint8_t frame[frame_size] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  std::vector<Packet*> free_list;
  // Completions from the worker thread come back through a DPDK ring (one writer, one
  // reader, room for the whole pool): taken in bulk, not by walking a chain across cores.
  rte_ring* returned = nullptr;
  bool cross_thread = false;
  uint64_t completed = 0;

  ~Sender() { rte_ring_free(returned); }

  bool build(dpdk::DpdkMiniport& miniport, FrameMemory memory) {
    static uint32_t rings = 0;
    const std::string name = "bench_returned" + std::to_string(rings++);
    returned = rte_ring_create(name.c_str(), rte_align32pow2(packets_in_pool + 1), SOCKET_ID_ANY,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (returned == nullptr) return false;
    std::vector<dpdk::FrameMemory> lent;
    if (memory == FrameMemory::miniport_frames) {
      auto made = miniport.allocate_frames(packets_in_pool, frame_size);
      if (!made) return false;
      lent = std::move(*made);
    }
    for (uint32_t i = 0; i < packets_in_pool; ++i) {
      uint8_t* f = lent.empty() ? frame : lent[i].address;
      if (f != frame) std::memcpy(f, frame, frame_size);
      Packet* p = nullptr;
      Buffer* b = nullptr;
      (void)packets->allocate(p);
      (void)buffers->allocate(b, f, frame_size);
      b->iova = lent.empty() ? reinterpret_cast<uint64_t>(frame) : lent[i].iova;
      (void)p->chain_at_back(b);
      free_list.push_back(p);
    }
    return true;
  }
  static void on_complete(void* ctx, Packet* const* pkts, uint32_t n) noexcept {
    auto& self = *static_cast<Sender*>(ctx);
    if (self.cross_thread) {
      (void)rte_ring_sp_enqueue_bulk(self.returned, reinterpret_cast<void* const*>(pkts), n, nullptr);
    } else {
      self.free_list.insert(self.free_list.end(), pkts, pkts + n);
      self.completed += n;
    }
  }
  void take_returned() {
    Packet* got[256];
    const uint32_t n = rte_ring_sc_dequeue_burst(returned, reinterpret_cast<void**>(got), 256, nullptr);
    free_list.insert(free_list.end(), got, got + n);
  }
};

struct PkioPath {
  std::unique_ptr<dpdk::Stack> stack;
  Adapter* adapter = nullptr;
  Binding* binding = nullptr;
  Sender sender;

  bool open(const char* name, uint32_t burst, bool cross_thread, bool verifier, FrameMemory memory,
            std::string& error) {
    dpdk::StackConfig config;
    config.port = name;
    config.miniport.maximum_send_packets = burst;
    config.adapter.run_to_completion = !cross_thread;
    config.adapter.verifier = verifier;
    auto opened = dpdk::Stack::open(config);
    if (!opened) {
      error = opened.error().message;
      return false;
    }
    stack = std::move(*opened);
    adapter = &stack->adapter();
    if (!sender.build(stack->miniport(), memory)) {
      error = "cannot make the miniport's frames";
      return false;
    }
    sender.cross_thread = cross_thread;
    ProtocolCharacteristics pc;
    pc.send_complete = &Sender::on_complete;
    auto b = stack->bind(pc, &sender);
    if (!b) {
      error = b.error().message;
      return false;
    }
    binding = *b;
    if (auto started = cross_thread ? adapter->start_worker(1) : Result<void>{}; !started) {
      error = started.error().message;
      return false;
    }
    return true;
  }
  ~PkioPath() { stack.reset(); }  // the adapter halts while the sender's packets still exist
};

/// pkio inline (the sending thread is the worker) or cross-thread (a worker on another core,
/// completions handed back through a DPDK ring): send bursts from the free list, refill it
/// from completions, report packets completed and vs_raw.
void run_pkio_case(benchmark::State& state, bool cross_thread, bool verifier = false,
                   FrameMemory memory = FrameMemory::miniport_frames) {
  const auto burst = static_cast<uint32_t>(state.range(0));
  if (cross_thread && std::thread::hardware_concurrency() < 2) {
    state.SkipWithError("needs two cores");
    return;
  }
  PkioPath path;
  std::string error;
  if (!path.open("net_null1", burst, cross_thread, verifier, memory, error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  Sender& s = path.sender;
  // Inline, the raw loop runs in slices through the case (InterleavedRaw); cross-thread it
  // would stall the producer with the worker still running, so it runs before and after.
  const double raw = cross_thread ? raw_before(state) : 0.0;
  InterleavedRaw interleaved(state, burst);
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    if (!cross_thread) interleaved.check(state);
    if (s.free_list.size() < burst) {
      if (cross_thread)
        s.take_returned();
      else
        path.adapter->poll();
      continue;
    }
    Packet* batch[256];  // off the list first: inline completions are appended to it
    std::copy(s.free_list.end() - burst, s.free_list.end(), batch);
    s.free_list.resize(s.free_list.size() - burst);
    send_packets(path.binding, batch, burst);
  }
  // Cross-thread, the worker's backlog belongs to the run; inline, nothing is left over.
  if (cross_thread)
    while (!path.adapter->idle()) std::this_thread::yield();
  const uint64_t cycles = rte_rdtsc() - start - interleaved.excluded();
  while (!path.adapter->idle()) path.adapter->poll();
  if (cross_thread)
    report_vs_raw(state, path.adapter->counters().completed_ok, cycles, raw);
  else
    interleaved.report(state, path.adapter->counters().completed_ok, cycles);
}

void BM_PkioInline(benchmark::State& state) { run_pkio_case(state, false); }
// Inline, every packet over one buffer of our own: each send borrows a zero-copy slot.
void BM_PkioInlineSharedBuffer(benchmark::State& state) {
  run_pkio_case(state, false, false, FrameMemory::shared_buffer);
}
void BM_PkioCrossThread(benchmark::State& state) { run_pkio_case(state, true); }
// The inline path with AdapterConfig::verifier: what checking every state change costs.
void BM_PkioInlineVerifier(benchmark::State& state) { run_pkio_case(state, false, true); }

// The DPDK miniport alone, its send_packets called directly: the floor under the
// dispatcher. Each packet goes as its frame's mbuf (or borrows a zero-copy slot) and net_null
// frees it inside tx_burst, so every packet comes back with its final status (success) set:
// a per-packet completion.
void run_miniport_case(benchmark::State& state, FrameMemory memory) {
  const auto burst = static_cast<uint32_t>(state.range(0));
  PkioPath path;
  std::string error;
  if (!path.open("net_null1", burst, false, false, memory, error)) {
    state.SkipWithError(error.c_str());
    return;
  }
  Sender& s = path.sender;
  for (Packet* p : s.free_list) p->tracking.adapter = nullptr;
  const MiniportCharacteristics mc = path.stack->miniport().characteristics();
  uint64_t packets = 0, completed = 0;
  InterleavedRaw interleaved(state, burst);
  const uint64_t start = rte_rdtsc();
  for (auto _ : state) {
    interleaved.check(state);
    mc.send_packets(&path.stack->miniport(), s.free_list.data(), burst);
    packets += burst;
  }
  const uint64_t cycles = rte_rdtsc() - start - interleaved.excluded();
  for (uint32_t i = 0; i < burst; ++i) completed += s.free_list[i]->oob.status == Status::success;
  if (completed != burst) state.SkipWithError("the miniport did not complete every packet");
  interleaved.report(state, packets, cycles);
}

void BM_MiniportOnly(benchmark::State& state) { run_miniport_case(state, FrameMemory::miniport_frames); }
void BM_MiniportOnlySharedBuffer(benchmark::State& state) { run_miniport_case(state, FrameMemory::shared_buffer); }

BENCHMARK(BM_RawTxBurst)->RangeMultiplier(2)->Range(1, 64);
BENCHMARK(BM_RawExtbufTxBurst)->RangeMultiplier(2)->Range(1, 64);
BENCHMARK(BM_RawRefcntTxBurst)->RangeMultiplier(2)->Range(1, 64);
BENCHMARK(BM_RawPoolReturnTxBurst)->RangeMultiplier(2)->Range(1, 64);
BENCHMARK(BM_MiniportOnly)->RangeMultiplier(2)->Range(1, 64);
BENCHMARK(BM_MiniportOnlySharedBuffer)->RangeMultiplier(2)->Range(1, 64);
BENCHMARK(BM_PkioInline)->RangeMultiplier(2)->Range(1, 64);
BENCHMARK(BM_PkioInlineSharedBuffer)->RangeMultiplier(2)->Range(1, 64);
BENCHMARK(BM_PkioInlineVerifier)->RangeMultiplier(2)->Range(1, 64);
BENCHMARK(BM_PkioCrossThread)->RangeMultiplier(2)->Range(1, 64)->UseRealTime();

}  // namespace
}  // namespace pkio

int main(int argc, char** argv) {
  return pkio::bench::run_benchmarks_with_eal(argc, argv, {"net_null0", "net_null1"}, [] { pkio::raw_port_kept.reset(); });
}
