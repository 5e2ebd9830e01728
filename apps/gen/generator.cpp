#include "generator.h"

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <utility>

#include <pkio/cycles.h>

#include "receiver.h"
#include "restamp.h"

namespace pkio::gen {

/// A packet's frame and where it stands, kept in its ProtocolReserved.
struct Reserved {
  uint8_t* frame;
  uint32_t size;
  uint16_t stream;
  bool stamped;
  uint16_t unstamped;  // while stamped: its checksum's sum without the stamp (unstamped_sum)
  uint64_t submit_cycles;
  uint64_t sequence;  // within its flow, as stamped
};

namespace {
Reserved& reserved_of(Packet* p) noexcept { return *reinterpret_cast<Reserved*>(p->protocol_reserved().data()); }

uint64_t xorshift(uint64_t& s) noexcept {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

/// Smooth weighted round robin: each stream appears `weight` times per pass, spread evenly.
std::vector<uint16_t> weighted_schedule(const std::vector<StreamSpec>& streams) {
  uint64_t total = 0;
  for (const auto& s : streams) total += s.weight;
  const double scale = total > 4096 ? 4096.0 / static_cast<double>(total) : 1.0;
  std::vector<int64_t> weight(streams.size()), current(streams.size(), 0);
  int64_t sum = 0;
  for (size_t i = 0; i < streams.size(); ++i) sum += weight[i] = std::max<int64_t>(1, static_cast<int64_t>(streams[i].weight * scale));
  std::vector<uint16_t> order(static_cast<size_t>(sum));
  for (auto& slot : order) {
    size_t best = 0;
    for (size_t i = 0; i < streams.size(); ++i) {
      current[i] += weight[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= sum;
    slot = static_cast<uint16_t>(best);
  }
  return order;
}

/// A mix as a sequence of blocks, each holding every size exactly `weight` times in a
/// shuffled order: the proportions are exact over every block, the order is not periodic.
std::vector<uint32_t> mix_sequence(const SizeSpec& size, uint32_t seed) {
  std::vector<uint32_t> block;
  for (const auto& s : size.mix) block.insert(block.end(), s.weight, s.size);
  const size_t blocks = std::max<size_t>(1, 1024 / block.size());
  std::mt19937 rng(seed);
  std::vector<uint32_t> out;
  for (size_t b = 0; b < blocks; ++b) {
    std::shuffle(block.begin(), block.end(), rng);
    out.insert(out.end(), block.begin(), block.end());
  }
  return out;
}
}  // namespace

Status QueueSender::create(dpdk::Port& port, uint16_t queue, const Options& o, const Trace* trace,
                           std::unique_ptr<CsvLog> csv, std::unique_ptr<QueueSender>& out, std::string& error) {
  std::unique_ptr<QueueSender> s(new QueueSender());
  s->options_ = o;
  // --size is the frame as it leaves the port, tag included: a tagged stream's frames are
  // built 4 bytes shorter, and the miniport inserts the tag (R37).
  for (StreamSpec& st : s->options_.streams) {
    if (st.vlan == 0 && st.priority == 0) continue;
    st.size.min -= tag_bytes;
    st.size.max -= tag_bytes;
    for (auto& share : st.size.mix) share.size -= tag_bytes;
  }
  s->queue_ = queue;
  s->trace_ = trace;
  s->rng_ += queue;
  s->ns_per_cycle_ = 1e9 / static_cast<double>(cycles_per_second());
  dpdk::MiniportConfig mc;
  mc.queue_id = queue;
  mc.maximum_send_packets = o.batch;
  mc.completion = o.copy ? dpdk::CompletionMode::on_accept : dpdk::CompletionMode::on_free;
  mc.priority_8021p = trace == nullptr && o.tagged();
  AdapterConfig ac;
  ac.run_to_completion = true;
  auto lane = dpdk::Lane::open(port, mc, ac);
  if (!lane) {
    error = lane.error().message;
    return Status::failure;
  }
  s->lane_ = std::move(*lane);
  auto published = dpdk::TelemetryEntry::publish(s->adapter(), "gen.q" + std::to_string(queue));
  if (!published) {
    error = published.error().message;
    return Status::failure;
  }
  s->telemetry_ = std::move(*published);
  const uint32_t limit = s->adapter().maximum_total_size();  // OID_GEN_MAXIMUM_TOTAL_SIZE, untagged
  if (trace != nullptr) {
    for (const auto& f : trace->frames)
      if (f.length > limit) {
        error = "--pcap: a frame of " + std::to_string(f.length) + " bytes is larger than the port takes (" +
                std::to_string(limit) + "; --mtu raises it)";
        return Status::failure;
      }
  }
  for (const StreamSpec& st : s->options_.streams) {
    if (st.size.max <= limit) continue;
    const bool tagged = st.vlan != 0 || st.priority != 0;
    error = "stream '" + st.name + "': frames of " + std::to_string(st.size.max + (tagged ? tag_bytes : 0)) +
            " bytes are larger than the port sends (" + std::to_string(limit + (tagged ? tag_bytes : 0)) +
            (tagged ? " with the 802.1Q tag" : "") + "; --mtu raises it)";
    return Status::failure;
  }
  ProtocolCharacteristics pc;
  pc.send_complete = &QueueSender::on_send_complete;
  auto bound = s->lane_->bind(pc, s.get());
  auto packets = PacketPool::create(o.pool, sizeof(Reserved));
  auto buffers = BufferPool::create(o.pool);
  for (const Error* e : {bound ? nullptr : &bound.error(), packets ? nullptr : &packets.error(),
                         buffers ? nullptr : &buffers.error()})
    if (e != nullptr) {
      error = e->message;
      return Status::failure;
    }
  s->binding_ = *bound;
  s->packets_ = std::move(*packets);
  s->buffers_ = std::move(*buffers);
  if ((trace ? s->build_replay(port.socket_id(), error) : s->build_streams(queue, port.socket_id(), error)) !=
      Status::success)
    return Status::failure;
  s->csv_ = std::move(csv);
  out = std::move(s);
  return Status::success;
}

Status QueueSender::build_streams(uint16_t queue, int socket, std::string& error) {
  const auto& specs = options_.streams;
  uint64_t weights = 0;
  for (const auto& spec : specs) weights += spec.weight;
  // Each stream gets its share of the pool (64 packets at least) and frames of its largest size.
  std::vector<uint32_t> share(specs.size());
  size_t bytes = 0, packets = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    share[i] = std::max<uint32_t>(64, static_cast<uint32_t>(options_.pool * specs[i].weight / weights));
    if (i + 1 == specs.size()) share[i] = std::max<uint32_t>(64, options_.pool - static_cast<uint32_t>(packets));
    share[i] = std::min<uint32_t>(share[i], options_.pool - static_cast<uint32_t>(packets) - 64 * static_cast<uint32_t>(specs.size() - 1 - i));
    packets += share[i];
    bytes += static_cast<size_t>(share[i]) * ((specs[i].size.max + 63) / 64 * 64);
  }
  // Frames in the miniport's own mbufs are sent as those mbufs (the cheapest send and free);
  // memory of our own (rte_malloc, DMA-able) where they cannot be made, or in copy mode.
  uint32_t largest = 0;
  for (const auto& spec : specs) largest = std::max(largest, spec.size.max);
  std::vector<dpdk::FrameMemory> lent;
  if (!options_.copy) {
    auto made = lane_->miniport().allocate_frames(static_cast<uint32_t>(packets), largest);
    if (made) lent = std::move(*made);
  }
  if (lent.empty()) {
    frames_ = static_cast<uint8_t*>(rte_malloc_socket("pkio_gen_frames", bytes, 64, socket));
    if (frames_ == nullptr) {
      error = "cannot allocate " + std::to_string(bytes >> 20) + " MiB of frames (raise EAL -m, or lower --pool)";
      return Status::failure;
    }
  }
  streams_.resize(specs.size());
  uint8_t* own = frames_;  // the next frame of our own memory, or of the miniport's:
  size_t next_lent = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const StreamSpec& spec = specs[i];
    Stream& st = streams_[i];
    st.spec = &spec;
    st.tag = spec.vlan != 0 || spec.priority != 0 ? tag_bytes : 0;
    st.layout = layout_of(spec.ip, spec.transport);
    st.flow = static_cast<uint32_t>(options_.first_flow + queue * specs.size() + i);
    if (spec.size.kind == SizeSpec::Kind::mix) st.sizes = mix_sequence(spec.size, 12345 + queue * 131 + static_cast<uint32_t>(i));
    const uint32_t ip_src = spec.ip == IpVersion::v4 ? 26 : 22, ip_dst = spec.ip == IpVersion::v4 ? 30 : 38;
    const unsigned ip_width = spec.ip == IpVersion::v4 ? 4 : 16;
    const Stream::Varying fields[] = {{0, 6, spec.dst_mac},       {6, 6, spec.src_mac},
                                      {ip_src, ip_width, spec.src_ip}, {ip_dst, ip_width, spec.dst_ip},
                                      {st.layout.l4, 2, spec.src_port}, {st.layout.l4 + 2, 2, spec.dst_port}};
    for (const auto& f : fields)
      if (f.range.varies()) st.varying.push_back(f);
    st.stamp_only = spec.size.kind == SizeSpec::Kind::fixed && st.varying.empty() &&
                    spec.transport != Transport::tcp_syn && spec.size.min >= st.layout.stamped();
    HeaderValues values = first_values(spec);
    // Queues differ in their source port (receivers spreading flows by hash see them apart).
    if (!spec.src_port.varies() && spec.src_port.start + queue <= 65535) values.src_port = static_cast<uint16_t>(spec.src_port.start + queue);
    const size_t stride = (spec.size.max + 63) / 64 * 64;
    const uint32_t first_size = spec.size.kind == SizeSpec::Kind::mix ? st.sizes[0] : spec.size.min;
    st.free.reserve(share[i]);  // completions never make it grow: no heap on the hot path
    for (uint32_t k = 0; k < share[i]; ++k) {
      Packet* p = nullptr;
      Buffer* b = nullptr;
      uint8_t* frame = lent.empty() ? std::exchange(own, own + stride) : lent[next_lent++].address;
      build_frame(frame, first_size, st.layout, values);
      (void)packets_->allocate(p);
      (void)buffers_->allocate(b, frame, first_size);
      b->iova = rte_mem_virt2iova(frame);  // DPDK memory: looked up once, not per send
      (void)p->chain_at_back(b);
      p->ieee8021q = Ieee8021qInfo::make(spec.priority, spec.vlan);
      reserved_of(p) = Reserved{frame, first_size, static_cast<uint16_t>(i), false, 0, 0, 0};
      st.free.push_back(p);
    }
  }
  schedule_ = weighted_schedule(specs);
  return Status::success;
}

Status QueueSender::build_replay(int socket, std::string& error) {
  frames_ = static_cast<uint8_t*>(rte_malloc_socket("pkio_gen_trace", trace_->bytes.size(), 64, socket));
  if (frames_ == nullptr) {
    error = "cannot allocate " + std::to_string(trace_->bytes.size() >> 20) + " MiB for the pcap frames (raise EAL -m)";
    return Status::failure;
  }
  std::copy(trace_->bytes.begin(), trace_->bytes.end(), frames_);
  replay_limit_ = options_.loops * trace_->frames.size();
  streams_.resize(1);
  Stream& st = streams_[0];
  st.free.reserve(options_.pool);
  for (uint32_t k = 0; k < options_.pool; ++k) {
    Packet* p = nullptr;
    Buffer* b = nullptr;
    (void)packets_->allocate(p);
    (void)buffers_->allocate(b, frames_, trace_->frames[0].length);
    (void)p->chain_at_back(b);
    reserved_of(p) = Reserved{frames_, trace_->frames[0].length, 0, false, 0, 0, 0};
    st.free.push_back(p);
  }
  return Status::success;
}

QueueSender::~QueueSender() {
  telemetry_.reset();  // before the adapter it reads
  lane_.reset();  // the adapter halts: every packet is back before the frames go
  if (packets_) {
    for (Stream& st : streams_) {
      for (Packet* p : st.free) {
        while (Buffer* b = p->unchain_at_front()) buffers_->free(b);
        packets_->free(p);
      }
    }
  }
  rte_free(frames_);
}

void QueueSender::on_send_complete(void* context, Packet* const* packets, uint32_t n) noexcept {
  // Reuse beats release (seeds/001): the packet and its frame go straight back to their stream.
  auto& self = *static_cast<QueueSender*>(context);
  if (self.first_completion_ == 0) [[unlikely]] self.first_completion_ = rte_rdtsc();
  // Bytes count when they are sent and completed: those of packets that failed come off (one
  // status read a packet, on the line the dispatcher just wrote; the size only on failure).
  for (uint32_t i = 0; i < n; ++i)
    if (packets[i]->oob.status != Status::success) [[unlikely]]
      self.totals_.failed_bytes.fetch_add(self.wire_size(reserved_of(packets[i])), std::memory_order_relaxed);
  if (self.csv_ != nullptr) self.log_completions(packets, n);
  if (self.streams_.size() == 1) {  // the common case: one copy, not a push per packet
    auto& free = self.streams_[0].free;
    free.insert(free.end(), packets, packets + n);
    return;
  }
  for (uint32_t i = 0; i < n; ++i) self.streams_[reserved_of(packets[i]).stream].free.push_back(packets[i]);
}

void QueueSender::log_completions(Packet* const* packets, uint32_t n) noexcept {
  const uint64_t now = rte_rdtsc();
  for (uint32_t i = 0; i < n; ++i) {
    const Reserved& r = reserved_of(packets[i]);
    csv_->add(CsvRecord{queue_, streams_[r.stream].flow, r.sequence, wire_size(r),
                        static_cast<uint32_t>(packets[i]->oob.status),
                        static_cast<uint64_t>(static_cast<double>(now - r.submit_cycles) * ns_per_cycle_)});
  }
}

uint32_t QueueSender::wire_size(const Reserved& r) const noexcept { return r.size + streams_[r.stream].tag; }

size_t QueueSender::free_packets() const noexcept {
  size_t n = 0;
  for (const Stream& st : streams_) n += st.free.size();
  return n;
}

inline Packet* QueueSender::next_stream_packet(uint64_t now) noexcept {
  size_t index = 0;
  if (schedule_.size() > 1) {
    index = schedule_[next_in_schedule_];
    if (streams_[index].free.empty()) return nullptr;  // keep the shares: wait for this stream
    next_in_schedule_ = next_in_schedule_ + 1 == schedule_.size() ? 0 : next_in_schedule_ + 1;
  }
  Stream& st = streams_[index];
  if (st.free.empty()) return nullptr;
  Packet* p = st.free.back();
  st.free.pop_back();
  Reserved& r = reserved_of(p);
  const SizeSpec& size = st.spec->size;
  bool rewritten = false;  // anything but the stamp changed: the kept checksum is stale
  if (size.kind != SizeSpec::Kind::fixed) {
    const uint32_t next = size.kind == SizeSpec::Kind::mix
                              ? st.sizes[st.next_size++ % st.sizes.size()]
                              : size.min + static_cast<uint32_t>(xorshift(rng_) % (size.max - size.min + 1));
    if (next != r.size) {
      if (r.stamped && next < st.layout.stamped()) {
        clear_stamp(r.frame, st.layout);  // a cut stamp would leave bytes under the checksum
        r.stamped = false;
      }
      resize_frame(r.frame, st.layout, r.size, next);
      r.size = next;
      rewritten = true;
      Buffer* b = p->reinitialize();
      b->length = next;
      (void)p->chain_at_back(b);
    }
  }
  if (st.layout.transport == Transport::tcp_syn) {  // each SYN its own initial sequence number
    uint8_t isn[4];
    field_value(FieldRange{}, static_cast<uint32_t>(st.sent), isn, 4);
    rewrite(r.frame, st.layout, st.layout.l4 + 4, isn, 4);
    rewritten = true;
  }
  for (const Stream::Varying& f : st.varying) {
    const uint64_t k = f.range.mode == FieldMode::increment ? st.sent % f.range.count : xorshift(rng_) % f.range.count;
    uint8_t value[16];
    field_value(f.range, k, value, f.width);
    rewrite(r.frame, st.layout, f.offset, value, f.width);
    rewritten = true;
  }
  if (r.size >= st.layout.stamped()) {
    const uint64_t sequence = make_sequence(st.flow, st.sent);
    if (r.stamped && !rewritten) {  // the common case: write the frame, never read it
      (void)restamp_frame(r.frame, st.layout, r.unstamped, sequence, now);
    } else {
      stamp_frame(r.frame, st.layout, sequence, now);
      r.unstamped = unstamped_sum(transport_checksum(r.frame, st.layout), sequence, now);
      r.stamped = true;
    }
  }
  r.sequence = st.sent++;
  r.submit_cycles = now;
  return p;
}

inline uint32_t QueueSender::next_stamped_packets(Packet** out, uint32_t due, uint64_t now) noexcept {
  Stream& st = streams_[0];
  const auto take = static_cast<uint32_t>(std::min<size_t>(due, st.free.size()));
  Packet* const* const back = st.free.data() + st.free.size();  // taken from the back, as pop_back
  const bool keep_records = csv_ != nullptr;                     // only the CSV reads them
  // Locals, not the stream's members: each byte stored into a frame might alias those, and
  // they would be read again for every packet.
  const FrameLayout layout = st.layout;
  const uint32_t flow = st.flow;
  const uint64_t first = st.sent;
  for (uint32_t k = 0; k < take; ++k) {
    Packet* p = back[-1 - static_cast<ptrdiff_t>(k)];
    Reserved& r = reserved_of(p);
    const uint64_t sequence = make_sequence(flow, first + k);
    if (r.stamped) [[likely]] {
      (void)restamp_frame(r.frame, layout, r.unstamped, sequence, now);
    } else {
      stamp_frame(r.frame, layout, sequence, now);
      r.unstamped = unstamped_sum(transport_checksum(r.frame, layout), sequence, now);
      r.stamped = true;
    }
    if (keep_records) [[unlikely]] {
      r.sequence = first + k;
      r.submit_cycles = now;
    }
    out[k] = p;
  }
  st.free.resize(st.free.size() - take);
  st.sent = first + take;
  return take;
}

Packet* QueueSender::next_replay_packet() noexcept {
  Stream& st = streams_[0];
  if (st.free.empty() || (replay_limit_ != 0 && replayed_ >= replay_limit_)) return nullptr;
  Packet* p = st.free.back();
  st.free.pop_back();
  const Trace::Frame& f = trace_->frames[next_frame_];
  next_frame_ = next_frame_ + 1 == trace_->frames.size() ? 0 : next_frame_ + 1;
  Reserved& r = reserved_of(p);
  r.frame = frames_ + f.offset;
  r.size = f.length;
  r.sequence = st.sent++;
  ++replayed_;
  Buffer* b = p->reinitialize();
  b->address = r.frame;
  b->length = f.length;
  b->iova = 0;  // looked up by the miniport (rte_malloc'd memory)
  (void)p->chain_at_back(b);
  return p;
}

void QueueSender::run(const std::atomic<bool>& stop, uint64_t count, double duration_s, double rate_pps,
                      double drain_timeout_s) {
  // The duration starts at the first submission, the device's first frame comes later: the
  // first call should not also fault in its stack or find its slots and the PMD cold. Done
  // before the pacer's clock starts, or the packets due meanwhile would go out at once.
  lane_->miniport().warm_up();
  lane_->adapter().poll();
  const uint64_t hz = cycles_per_second();
  const uint64_t start = rte_rdtsc();
  const uint64_t end = duration_s > 0 ? start + static_cast<uint64_t>(duration_s * static_cast<double>(hz)) : UINT64_MAX;
  Pacer pacer;
  if (trace_ != nullptr && options_.replay_speed > 0) {
    std::vector<double> gaps = trace_->gaps_ns();
    for (double& g : gaps) g = g * static_cast<double>(hz) / 1e9 / options_.replay_speed;
    pacer = Pacer(std::move(gaps), start);
  } else if (rate_pps > 0) {
    pacer = Pacer(options_.pacing, rate_pps, static_cast<double>(hz), start, 777 + queue_);
  }
  const uint32_t window = options_.window;
  const bool stamp_only = trace_ == nullptr && streams_.size() == 1 && streams_[0].stamp_only;
  const uint32_t stamp_only_size = stamp_only ? streams_[0].spec->size.min + streams_[0].tag : 0;
  uint64_t sent = 0, bytes = 0;
  Packet* batch[1024];
  while (!stop.load(std::memory_order_relaxed) && (count == 0 || sent < count)) {
    const uint64_t now = rte_rdtsc();
    if (now >= end) break;
    if (trace_ != nullptr && replay_limit_ != 0 && replayed_ >= replay_limit_) break;
    uint64_t allowed = options_.batch;
    if (window > 0) {  // pacing by in-flight window: possible because every packet completes
      const uint64_t in_flight = options_.pool - free_packets();
      allowed = in_flight < window ? std::min<uint64_t>(allowed, window - in_flight) : 0;
    }
    if (count > 0) allowed = std::min(allowed, count - sent);
    const uint32_t due = pacer.due(now, static_cast<uint32_t>(allowed));
    uint32_t n = 0;
    if (stamp_only) {
      n = next_stamped_packets(batch, due, now);
      bytes += uint64_t{n} * stamp_only_size;
    }
    while (!stamp_only && n < due) {
      Packet* p = trace_ ? next_replay_packet() : next_stream_packet(now);
      if (p == nullptr) break;
      bytes += wire_size(reserved_of(p));
      batch[n++] = p;
    }
    pacer.give_back(due - n);
    if (n == 0) {
      lane_->adapter().poll();  // reap completions while waiting for time, window or packets
      continue;
    }
    sent += n;
    if (first_submit_ == 0) [[unlikely]] {
      lane_->miniport().warm_packets(batch, n);  // built long ago: cold, and the clock starts now
      first_submit_ = rte_rdtsc();
    }
    send_packets(binding_, batch, n);
    totals_.sent.store(sent, std::memory_order_relaxed);
    totals_.bytes.store(bytes, std::memory_order_relaxed);
  }
  // What the device had taken when time was up: anything it takes later waited in pkio's
  // queue behind a full TX ring (pkio-ndr: such a trial did not offer its load in time).
  accepted_in_time_ = lane_->miniport().stats().accepted;
  // Complete everything in flight before reporting (bounded: a stuck device is reported).
  const uint64_t drain_end = rte_rdtsc() + static_cast<uint64_t>(drain_timeout_s * static_cast<double>(hz));
  uint64_t now = rte_rdtsc();
  while (!lane_->adapter().idle() && now < drain_end) {
    lane_->adapter().poll();
    now = rte_rdtsc();
  }
  drained_ = lane_->adapter().idle();
  // The run ends when the last completion is seen: at most one poll step after it.
  if (first_submit_ != 0) last_completion_ = drained_ ? now : rte_rdtsc();
}

}  // namespace pkio::gen
