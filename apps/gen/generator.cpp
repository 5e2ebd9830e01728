#include "generator.h"

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include <algorithm>
#include <random>

namespace pkio::gen {

namespace {
/// Frame bytes of a packet, kept in its ProtocolReserved (set once when the pool is built).
struct Reserved {
  uint8_t* frame;
  uint32_t size;
};
Reserved& reserved_of(Packet* p) noexcept {
  return *reinterpret_cast<Reserved*>(p->protocol_reserved().data());
}
}  // namespace

Status QueueSender::create(dpdk::Port& port, uint16_t queue, const Options& o,
                           std::unique_ptr<QueueSender>& out, std::string& error) {
  std::unique_ptr<QueueSender> s(new QueueSender());
  s->options_ = o;
  dpdk::MiniportConfig mc;
  mc.queue_id = queue;
  mc.maximum_send_packets = o.batch;
  mc.completion = o.copy ? dpdk::CompletionMode::on_accept : dpdk::CompletionMode::on_free;
  mc.priority_8021p = o.vlan != 0 || o.priority != 0;
  if (dpdk::DpdkMiniport::create(port, mc, s->miniport_, &error) != Status::success) return Status::failure;
  AdapterConfig ac;
  ac.run_to_completion = true;
  if (Adapter::create(s->miniport_->characteristics(), s->miniport_.get(), ac, s->adapter_, &error) !=
      Status::success)
    return Status::failure;
  s->miniport_->attach(*s->adapter_);
  if (s->adapter_->maximum_total_size() < o.size_max) {
    error = "--size " + std::to_string(o.size_max) + " is larger than the port's maximum_total_size (" +
            std::to_string(s->adapter_->maximum_total_size()) + ")";
    return Status::failure;
  }
  ProtocolCharacteristics pc;
  pc.send_complete = &QueueSender::on_send_complete;
  if (open_adapter(*s->adapter_, pc, s.get(), s->binding_) != Status::success) {
    error = "cannot open a binding on port " + std::to_string(port.id());
    return Status::failure;
  }
  s->packets_ = PacketPool::create(o.pool, sizeof(Reserved));
  s->buffers_ = BufferPool::create(o.pool);
  const size_t stride = (o.size_max + 63) / 64 * 64;
  s->frames_ = static_cast<uint8_t*>(rte_malloc_socket("pkio_gen_frames", stride * o.pool, 64, port.socket_id()));
  if (!s->packets_ || !s->buffers_ || s->frames_ == nullptr) {
    error = "cannot allocate " + std::to_string(o.pool) + " frames of " + std::to_string(o.size_max) +
            " bytes (raise EAL -m, or lower --pool)";
    return Status::failure;
  }
  s->free_.reserve(o.pool);  // completions never make it grow: no heap on the hot path
  std::mt19937 rng(12345 + queue);  // seeded: the same sizes every run
  std::uniform_int_distribution<uint32_t> sizes(o.size_min, o.size_max);
  Addresses addresses;
  addresses.src_port = static_cast<uint16_t>(1024 + queue);
  for (uint32_t i = 0; i < o.pool; ++i) {
    Packet* p = nullptr;
    Buffer* b = nullptr;
    uint8_t* frame = s->frames_ + i * stride;
    const uint32_t size = sizes(rng);
    build_frame(frame, size, addresses);
    (void)s->packets_->allocate(p);
    (void)s->buffers_->allocate(b, frame, size);
    b->iova = rte_mem_virt2iova(frame);  // DPDK memory: looked up once, not per send
    (void)p->chain_at_back(b);
    p->ieee8021q = Ieee8021qInfo::make(o.priority, o.vlan);
    reserved_of(p) = Reserved{frame, size};
    s->free_.push_back(p);
  }
  out = std::move(s);
  return Status::success;
}

QueueSender::~QueueSender() {
  adapter_.reset();  // halts: every packet is back before the frames go
  miniport_.reset();
  if (packets_) {
    for (Packet* p : free_) {
      while (Buffer* b = p->unchain_at_front()) buffers_->free(b);
      packets_->free(p);
    }
  }
  rte_free(frames_);
}

void QueueSender::on_send_complete(void* context, Packet* const* packets, uint32_t n) noexcept {
  // Reuse beats release (seeds/001): the packet and its frame go straight back to the free list.
  auto& self = *static_cast<QueueSender*>(context);
  self.free_.insert(self.free_.end(), packets, packets + n);
}

void QueueSender::run(const std::atomic<bool>& stop, uint64_t count, double duration_s,
                      double rate_pps, double drain_timeout_s) {
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_rdtsc();
  const uint64_t end = duration_s > 0 ? start + static_cast<uint64_t>(duration_s * static_cast<double>(hz)) : UINT64_MAX;
  const double per_cycle = rate_pps / static_cast<double>(hz);
  const uint32_t window = options_.window;
  uint64_t sent = 0, bytes = 0;
  Packet* batch[1024];
  while (!stop.load(std::memory_order_relaxed) && (count == 0 || sent < count)) {
    const uint64_t now = rte_rdtsc();
    if (now >= end) break;
    uint64_t allowed = options_.batch;
    if (rate_pps > 0) {  // constant rate: what the elapsed time allows, minus what went out
      const auto due = static_cast<uint64_t>(static_cast<double>(now - start) * per_cycle);
      allowed = due > sent ? std::min<uint64_t>(allowed, due - sent) : 0;
    }
    if (window > 0) {  // pacing by in-flight window: possible because every packet completes
      const uint64_t in_flight = options_.pool - free_.size();
      allowed = in_flight < window ? std::min<uint64_t>(allowed, window - in_flight) : 0;
    }
    if (count > 0) allowed = std::min(allowed, count - sent);
    const auto n = static_cast<uint32_t>(std::min<uint64_t>(allowed, free_.size()));
    if (n == 0) {
      adapter_->poll();  // reap completions while waiting for time, window or packets
      continue;
    }
    for (uint32_t i = 0; i < n; ++i) {
      Packet* p = free_[free_.size() - 1 - i];
      const Reserved& r = reserved_of(p);
      stamp_frame(r.frame, r.size, sent + i, now);
      bytes += r.size;
      batch[i] = p;
    }
    free_.resize(free_.size() - n);
    sent += n;
    send_packets(binding_, batch, n);
    totals_.sent.store(sent, std::memory_order_relaxed);
    totals_.bytes.store(bytes, std::memory_order_relaxed);
  }
  // Complete everything in flight before reporting (bounded: a stuck device is reported).
  const uint64_t drain_end = rte_rdtsc() + static_cast<uint64_t>(drain_timeout_s * static_cast<double>(hz));
  while (!adapter_->idle() && rte_rdtsc() < drain_end) adapter_->poll();
  drained_ = adapter_->idle();
}

}  // namespace pkio::gen
