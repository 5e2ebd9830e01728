#include "send_paths.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <string>
#include <thread>

#include <pkio/adapter.h>
#include <pkio/cycles.h>
#include <pkio/dpdk/stack.h>
#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>
#include "threads.h"

namespace pkio::apps {

const char* path_name(SendPath path) noexcept {
  switch (path) {
    case SendPath::raw: return "raw";
    case SendPath::handoff: return "handoff";
    case SendPath::inline_path: return "inline";
    case SendPath::inline_deserialized: return "inline_deserialized";
    case SendPath::send_single: return "send";
    case SendPath::cross_thread: return "cross_thread";
  }
  return "?";
}

bool path_of_name(const std::string& name, SendPath& out) noexcept {
  for (SendPath p : {SendPath::raw, SendPath::handoff, SendPath::inline_path, SendPath::inline_deserialized,
                     SendPath::send_single, SendPath::cross_thread})
    if (name == path_name(p)) {
      out = p;
      return true;
    }
  return false;
}

bool needs_two_lcores(SendPath path) noexcept {
  return path == SendPath::handoff || path == SendPath::cross_thread;
}

Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

namespace {

void finish(RunResult& r, uint64_t cycles) {
  r.cycles = cycles;
  r.seconds = static_cast<double>(cycles) / static_cast<double>(cycles_per_second());
  r.mpps = r.seconds > 0 ? static_cast<double>(r.packets) / r.seconds / 1e6 : 0;
  r.cycles_per_packet = r.packets ? static_cast<double>(cycles) / static_cast<double>(r.packets) : 0;
}

/// What testpmd's txonly does, without pkio: allocate, set the length, tx_burst.
void run_raw(dpdk::Port& port, const RunSpec& spec, RunResult& r) {
  rte_mbuf* mbufs[1024];
  const auto burst = static_cast<uint16_t>(std::min<uint32_t>(spec.burst, 1024));
  const uint64_t hz = cycles_per_second();
  const uint64_t start = rte_rdtsc();
  const uint64_t end = start + static_cast<uint64_t>(spec.seconds * static_cast<double>(hz));
  uint64_t now = start;
  while (now < end) {
    for (int i = 0; i < 64; ++i) {  // read the clock every 64 bursts, not every burst
      if (rte_pktmbuf_alloc_bulk(port.mempool(), mbufs, burst) != 0) continue;
      for (uint16_t k = 0; k < burst; ++k) {
        mbufs[k]->data_len = static_cast<uint16_t>(spec.frame_size);
        mbufs[k]->pkt_len = spec.frame_size;
      }
      const uint16_t sent = rte_eth_tx_burst(port.id(), 0, mbufs, burst);
      if (sent < burst) rte_pktmbuf_free_bulk(mbufs + sent, burst - sent);
      r.packets += sent;
    }
    now = rte_rdtsc();
  }
  finish(r, now - start);
}

/// The raw loop split over two threads as pkio's cross-thread path splits it: this thread
/// allocates and hands mbufs over an rte_ring (one producer, one consumer), a thread on the
/// next lcore takes them and calls tx_burst. No framework: what moving packets between two
/// cores costs by itself, the floor the cross-thread path is judged against.
void run_handoff(dpdk::Port& port, const RunSpec& spec, RunResult& r) {
  const auto burst = static_cast<uint16_t>(std::min<uint32_t>(spec.burst, 1024));
  static std::atomic<uint32_t> rings{0};
  const std::string name = "pkio_handoff" + std::to_string(rings.fetch_add(1));
  rte_ring* ring = rte_ring_create(name.c_str(), 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (ring == nullptr) return;
  std::atomic<bool> stop{false};
  uint64_t sent_total = 0, end_cycles = 0;
  const int cpu = spec.worker_cpu >= 0 ? spec.worker_cpu : cpu_of_lcore(1);
  std::thread consumer([&] {
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    rte_mbuf* got[1024];
    for (;;) {
      const unsigned n = rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(got), burst, nullptr);
      if (n == 0) {
        if (stop.load(std::memory_order_acquire) && rte_ring_empty(ring)) break;
        continue;
      }
      uint16_t done = 0;
      while (done < n) done += rte_eth_tx_burst(port.id(), 0, got + done, static_cast<uint16_t>(n - done));
      sent_total += n;
    }
    end_cycles = rte_rdtsc();
  });
  rte_mbuf* mbufs[1024];
  const uint64_t hz = cycles_per_second();
  const uint64_t start = rte_rdtsc();
  const uint64_t end = start + static_cast<uint64_t>(spec.seconds * static_cast<double>(hz));
  uint64_t now = start;
  while (now < end) {
    for (int i = 0; i < 64; ++i) {
      if (rte_pktmbuf_alloc_bulk(port.mempool(), mbufs, burst) != 0) continue;
      for (uint16_t k = 0; k < burst; ++k) {
        mbufs[k]->data_len = static_cast<uint16_t>(spec.frame_size);
        mbufs[k]->pkt_len = spec.frame_size;
      }
      while (rte_ring_sp_enqueue_bulk(ring, reinterpret_cast<void* const*>(mbufs), burst, nullptr) == 0) {
      }
    }
    now = rte_rdtsc();
  }
  stop.store(true, std::memory_order_release);
  consumer.join();
  rte_ring_free(ring);
  r.packets = sent_total;
  finish(r, end_cycles - start);
}

/// The protocol side of a pkio measurement: a pool of packets over one frame each, recycled
/// on completion (through a DPDK ring, one writer and one reader, when completions come from
/// the worker thread: taken in bulk, not by walking a chain of packets across cores).
/// The packets ready to send are a stack with room for all of them: a completion is one
/// store a packet, as lean as a generator's protocol can be.
struct Protocol {
  std::unique_ptr<PacketPool> packets;
  std::unique_ptr<BufferPool> buffers;
  uint8_t* frames = nullptr;
  std::unique_ptr<Packet*[]> ready;
  uint32_t ready_count = 0;
  rte_ring* returned = nullptr;  // completions from the worker: one writer, one reader
  uint64_t errors = 0;

  ~Protocol() {
    rte_ring_free(returned);
    rte_free(frames);
  }

  /// Frames in the miniport's own mbufs where it can make them (as a generator would: the
  /// cheapest send), else in memory of our own.
  bool build(uint32_t count, uint32_t frame_size, dpdk::DpdkMiniport& miniport, bool copy) {
    auto made_packets = PacketPool::create(count, 0);
    auto made_buffers = BufferPool::create(count);
    if (!made_packets || !made_buffers) return false;
    packets = std::move(*made_packets);
    buffers = std::move(*made_buffers);
    std::vector<dpdk::FrameMemory> lent;
    const uint32_t stride = (frame_size + 63) / 64 * 64;
    auto made = copy ? Result<std::vector<dpdk::FrameMemory>>{} : miniport.allocate_frames(count, frame_size);
    if (made) lent = std::move(*made);
    if (lent.empty()) {
      frames = static_cast<uint8_t*>(rte_zmalloc("pkio_bench_frames", static_cast<size_t>(stride) * count, 64));
      if (frames == nullptr) return false;
    }
    ready = std::make_unique<Packet*[]>(count);
    static std::atomic<uint32_t> rings{0};
    const std::string name = "pkio_bench_ret" + std::to_string(rings.fetch_add(1));
    returned = rte_ring_create(name.c_str(), rte_align32pow2(count + 1), SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (returned == nullptr) return false;
    for (uint32_t i = 0; i < count; ++i) {
      uint8_t* f = lent.empty() ? frames + static_cast<size_t>(i) * stride : lent[i].address;
      std::fill(f, f + frame_size, 0);
      std::fill(f, f + 6, 0xFF);  // broadcast destination, locally administered source
      f[6] = 0x02;
      f[12] = 0x88;  // local experimental ethertype
      f[13] = 0xB5;
      Packet* p = nullptr;
      Buffer* b = nullptr;
      (void)packets->allocate(p);
      (void)buffers->allocate(b, f, frame_size);
      b->iova = rte_mem_virt2iova(f);
      (void)p->chain_at_back(b);
      ready[ready_count++] = p;
    }
    return true;
  }

  /// Cross-thread: statuses are read as the packets come back (take_returned).
  static void on_complete_cross(void* ctx, Packet* const* pkts, uint32_t n) noexcept {
    auto& self = *static_cast<Protocol*>(ctx);
    // Room for every packet of the pool: it never fails.
    (void)rte_ring_sp_enqueue_bulk(self.returned, reinterpret_cast<void* const*>(pkts), n, nullptr);
  }
  /// On the sending thread: straight back onto the stack of ready packets.
  static void on_complete(void* ctx, Packet* const* pkts, uint32_t n) noexcept {
    auto& self = *static_cast<Protocol*>(ctx);
    Packet** top = self.ready.get() + self.ready_count;
    for (uint32_t i = 0; i < n; ++i) {
      self.errors += pkts[i]->oob.status != Status::success;
      top[i] = pkts[i];
    }
    self.ready_count += n;
  }
  void take_returned() {
    Packet** top = ready.get() + ready_count;
    const uint32_t n = rte_ring_sc_dequeue_burst(returned, reinterpret_cast<void**>(top), 256, nullptr);
    for (uint32_t i = 0; i < n; ++i) errors += top[i]->oob.status != Status::success;
    ready_count += n;
  }
};

/// The send path: one NdisSend-style call per packet.
inline void send_each(Binding* binding, Packet* const* batch, uint32_t n, Protocol& proto) {
  for (uint32_t i = 0; i < n; ++i)
    if (send(binding, batch[i]) != Status::pending) [[unlikely]] {  // refused: still ours, not sent
      ++proto.errors;
      proto.ready[proto.ready_count++] = batch[i];
    }
}

Status run_pkio(dpdk::Port& port, const RunSpec& spec, RunResult& r, std::string& error) {
  const bool cross = spec.path == SendPath::cross_thread;
  const bool one_by_one = spec.path == SendPath::send_single;
  dpdk::MiniportConfig mc;
  mc.maximum_send_packets = spec.burst;
  mc.deserialized = spec.deserialized || spec.path == SendPath::inline_deserialized;
  mc.completion = spec.copy ? dpdk::CompletionMode::on_accept : dpdk::CompletionMode::on_free;
  AdapterConfig ac;
  ac.run_to_completion = !cross;
  auto lane = dpdk::Lane::open(port, mc, ac);
  if (!lane) {
    error = lane.error().message;
    return Status::failure;
  }
  dpdk::DpdkMiniport* miniport = &(*lane)->miniport();
  Adapter* adapter = &(*lane)->adapter();
  if (spec.frame_size > adapter->maximum_total_size()) {
    error = "frame size " + std::to_string(spec.frame_size) + " is above the port's maximum_total_size " +
            std::to_string(adapter->maximum_total_size()) + " (MTU + 14; sizes here do not count the FCS)";
    return Status::failure;
  }
  Protocol proto;
  if (!proto.build(spec.in_flight_packets, spec.frame_size, *miniport, spec.copy)) {
    error = "cannot allocate the packets and frames (raise EAL -m)";
    return Status::failure;
  }
  ProtocolCharacteristics pc;
  pc.send_complete = cross ? &Protocol::on_complete_cross : &Protocol::on_complete;
  auto bound = (*lane)->bind(pc, &proto);
  if (!bound) {
    error = bound.error().message;
    return Status::failure;
  }
  Binding* binding = *bound;
  // Served while it runs, and taken off the endpoint before the adapter goes.
  struct Served {
    metrics::Endpoint* endpoint;
    const Adapter* adapter;
    ~Served() {
      if (endpoint != nullptr) endpoint->remove(*adapter);
    }
  } served{spec.metrics, adapter};
  if (spec.metrics != nullptr) spec.metrics->add(*adapter, {spec.metrics_name, port.name(), 0});
  if (cross) {
    if (auto started = adapter->start_worker(spec.worker_cpu >= 0 ? spec.worker_cpu : cpu_of_lcore(1)); !started) {
      error = started.error().message;
      return Status::failure;
    }
  }
  const uint64_t hz = cycles_per_second();
  const uint64_t start = rte_rdtsc();
  const uint64_t end = start + static_cast<uint64_t>(spec.seconds * static_cast<double>(hz));
  const double per_cycle = spec.offered_pps / static_cast<double>(hz);
  const uint32_t burst = spec.burst;
  uint64_t sent = 0, now = start;
  uint32_t until_clock = 0;
  // Unpaced arrays on this thread: the loop the raw path runs (the clock every 64 bursts, no
  // test per call of what this run does not use), so that the ratio is pkio's, not the loop's.
  while (!cross && spec.offered_pps <= 0 && now < end) {
    for (int i = 0; i < 64; ++i) {
      const uint32_t n = std::min<uint32_t>({burst, proto.ready_count, 1024});
      if (n == 0) [[unlikely]] {
        adapter->poll();
        continue;
      }
      Packet* batch[1024];  // off the stack first: completions inside send_packets push onto it
      proto.ready_count -= n;
      if (n == 1)  // a burst of one is a store, not a call to memmove
        batch[0] = proto.ready[proto.ready_count];
      else
        std::copy_n(proto.ready.get() + proto.ready_count, n, batch);
      if (one_by_one)
        send_each(binding, batch, n, proto);
      else
        send_packets(binding, batch, n);
      sent += n;
    }
    now = rte_rdtsc();
  }
  while (now < end) {
    // The clock every 64 sends, as the raw loop reads it (a read costs as much as a small
    // send); every send when pacing needs it.
    if (spec.offered_pps > 0 || until_clock-- == 0) {
      now = rte_rdtsc();
      until_clock = 63;
    }
    uint64_t allowed = burst;
    if (spec.offered_pps > 0) {
      const auto due = static_cast<uint64_t>(static_cast<double>(now - start) * per_cycle);
      allowed = due > sent ? std::min<uint64_t>(burst, due - sent) : 0;
    }
    if (cross) proto.take_returned();
    const auto n = static_cast<uint32_t>(std::min<uint64_t>({allowed, proto.ready_count, 1024}));
    if (n == 0) {
      if (!cross) adapter->poll();
      continue;
    }
    // Take the packets off the stack before sending: completions delivered inside
    // send_packets push onto it, and they need not be the packets just sent.
    Packet* batch[1024];
    proto.ready_count -= n;
    if (n == 1)  // a burst of one is a store, not a call to memmove
      batch[0] = proto.ready[proto.ready_count];
    else
      std::copy_n(proto.ready.get() + proto.ready_count, n, batch);
    if (one_by_one)
      send_each(binding, batch, n, proto);
    else
      send_packets(binding, batch, n);
    sent += n;
  }
  // Everything sent must come back before the result counts it (sent means completed).
  while (!adapter->idle()) {
    if (cross) std::this_thread::yield(); else adapter->poll();
  }
  const uint64_t cycles = rte_rdtsc() - start;
  adapter->stop_worker();
  const AdapterCounters c = adapter->counters();
  r.packets = c.completed_ok;
  r.errors = c.completed_error;
  r.miniport_calls = c.batches;
  r.resources_events = c.resources_events;
  r.batch_sizes = adapter->batch_size_counts();
  const auto& h = adapter->latency_cycles();
  r.latency_p50_ns = cycles_to_ns(static_cast<double>(h.percentile(0.50)));
  r.latency_p99_ns = cycles_to_ns(static_cast<double>(h.percentile(0.99)));
  r.latency_p999_ns = cycles_to_ns(static_cast<double>(h.percentile(0.999)));
  finish(r, cycles);
  if (served.endpoint != nullptr) served.endpoint->remove(*adapter);
  served.endpoint = nullptr;
  lane->reset();  // the adapter halts while the protocol's packets still exist
  return Status::success;
}

}  // namespace

namespace {

double cpu_seconds() noexcept {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

Status run_path(dpdk::Port& port, const RunSpec& spec, RunResult& out, std::string& error) {
  if (spec.path == SendPath::raw) {
    run_raw(port, spec, out);
    return Status::success;
  }
  if (spec.path == SendPath::handoff) {
    run_handoff(port, spec, out);
    if (out.packets == 0) error = "cannot create the handoff ring";
    return out.packets ? Status::success : Status::failure;
  }
  return run_pkio(port, spec, out, error);
}

}  // namespace

Status run_send_path(dpdk::Port& port, const RunSpec& spec, RunResult& out, std::string& error) {
  out = RunResult{};
  if (rte_lcore_id() == LCORE_ID_ANY) (void)rte_thread_register();
  // Whether the threads had their cores: CPU time against wall time over the whole run.
  const double cpu_start = cpu_seconds();
  const auto wall_start = std::chrono::steady_clock::now();
  const Status s = run_path(port, spec, out, error);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  out.cpu_per_wall = wall > 0 ? (cpu_seconds() - cpu_start) / wall : 0;
  return s;
}

}  // namespace pkio::apps
