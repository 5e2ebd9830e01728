#include <pkio/dpdk/miniport.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

#include "dpdk/mbuf_slots.h"

namespace pkio::dpdk {

namespace {

constexpr uint32_t min_frame = 60;        // without FCS (R38)
constexpr uint32_t mac_addresses = 12;    // destination + source precede an 802.1Q tag
constexpr uint32_t vlan_tag = 4;
constexpr uint32_t max_plan_segments = 128;

uint16_t tci_of(const Ieee8021qInfo& info) noexcept {
  return static_cast<uint16_t>((info.priority() << 13) | info.vlan_id());
}

/// Copies the first `n` bytes of the chain to `out` (the chain holds at least n bytes).
void gather(const Buffer* b, uint32_t n, uint8_t* out) noexcept {
  for (; b != nullptr && n > 0; b = b->next) {
    const uint32_t take = std::min(n, b->length);
    std::memcpy(out, b->address, take);
    out += take;
    n -= take;
  }
}

void write_tag(uint8_t* at, uint16_t tci) noexcept {
  at[0] = 0x81;  // TPID 0x8100, network order
  at[1] = 0x00;
  at[2] = static_cast<uint8_t>(tci >> 8);
  at[3] = static_cast<uint8_t>(tci & 0xFF);
}

/// The common burst, a generator's: leading packets that are each one valid buffer holding a
/// frame of the miniport's own (create_frames), untagged, go as the frames' mbufs. Returns how
/// many it lent (burst[k] for packets[k]); the caller's general loop takes the rest. A function
/// of its own so that its few values stay in registers: inside send_packets, which handles
/// every other case too, they were spilled to the stack (about 70 instructions a packet; 46
/// here, counted with callgrind).
[[gnu::noinline]] uint32_t lend_leading_frames(Packet* const* packets, uint32_t n, rte_mbuf** burst,
                                               const FrameFinder& frames, uint32_t max_total) noexcept {
  const FrameFinder f = frames;  // a copy no store can alias: kept in registers
  uint32_t k = 0;
  for (; k < n; ++k) {
    Packet* p = packets[k];
    PacketCounts c;
    if (!p->query_kept(c) || c.buffer_count != 1 || c.total_length < min_frame ||
        c.total_length > max_total || !p->ieee8021q.is_valid()) [[unlikely]]
      break;
    rte_mbuf* m = f.frame_of(c.first_buffer->address, c.total_length);
    if (m == nullptr) [[unlikely]]
      break;
    f.lend_frame(m, c.total_length);
    burst[k] = m;
  }
  return k;
}

/// Appends bytes to a chain of direct mbufs, taking new segments from `pool` as needed.
struct MbufWriter {
  rte_mempool* pool;
  rte_mbuf* head;
  rte_mbuf* tail;
  bool write(const void* src, uint32_t len) noexcept {
    static const uint8_t zeros[min_frame] = {};
    const auto* from = static_cast<const uint8_t*>(src);
    while (len > 0) {
      uint32_t room = rte_pktmbuf_tailroom(tail);
      if (room == 0) {
        rte_mbuf* next = rte_pktmbuf_alloc(pool);
        if (next == nullptr) return false;
        tail->next = next;
        tail = next;
        ++head->nb_segs;
        room = rte_pktmbuf_tailroom(tail);
      }
      const uint32_t take = std::min(room, len);
      std::memcpy(rte_pktmbuf_mtod_offset(tail, uint8_t*, tail->data_len),
                  src == nullptr ? zeros : from, take);
      tail->data_len = static_cast<uint16_t>(tail->data_len + take);
      head->pkt_len += take;
      if (src != nullptr) from += take;
      len -= take;
    }
    return true;
  }
  bool zeros(uint32_t len) noexcept {
    while (len > 0) {
      const uint32_t take = std::min(len, min_frame);
      if (!write(nullptr, take)) return false;
      len -= take;
    }
    return true;
  }
};

}  // namespace

Result<std::unique_ptr<DpdkMiniport>> DpdkMiniport::create(Port& port, const MiniportConfig& config) {
  if (config.queue_id >= port.tx_queues())
    return failure_of(Status::failure, "port " + std::to_string(port.id()) + " has no TX queue " +
                                           std::to_string(config.queue_id) + " (it has " +
                                           std::to_string(port.tx_queues()) + ")");
  if (config.maximum_send_packets == 0)
    return failure_of(Status::invalid_data, "maximum_send_packets must be at least 1");
  if (config.deserialized && config.backlog == 0)
    return failure_of(Status::invalid_data, "a deserialized miniport needs a backlog of at least 1");
  std::unique_ptr<DpdkMiniport> m(new DpdkMiniport(port, config));
  port.miniports_.push_back(m.get());  // told if the port goes first
  if (config.completion == CompletionMode::on_free) {
    const uint32_t slots = config.zero_copy_slots != 0 ? config.zero_copy_slots
                                                       : 2u * port.tx_descriptors();
    if (auto made = m->slots_->create(port.mempool(), slots); !made) return tl::unexpected(made.error());
  }
  // Never more per call than the TX ring holds, nor than the dispatcher hands over.
  m->config_.maximum_send_packets =
      std::min({config.maximum_send_packets, static_cast<uint32_t>(port.tx_descriptors()), max_batch});
  m->iova_is_va_ = rte_eal_iova_mode() == RTE_IOVA_VA;
  m->link_poll_cycles_ = rte_get_timer_hz() * config.link_poll_ms / 1000;
  if (config.deserialized) m->backlog_ = std::make_unique<Packet*[]>(config.backlog);
  return m;
}

DpdkMiniport::DpdkMiniport(Port& port, const MiniportConfig& config) noexcept
    : port_(&port), config_(config), slots_(std::make_unique<MbufSlots>()) {}

DpdkMiniport::~DpdkMiniport() {
  // Destroyed before its adapter: halt the adapter first, so every packet completes and the
  // adapter never calls this object again. Then MbufSlots orphans what a consumer still holds.
  if (adapter_ != nullptr) {
    const uint64_t in_flight = remove_miniport(*adapter_);  // calls halt_entry, which forgets it
    RTE_LOG(WARNING, USER1,
            "pkio: the DPDK miniport on port %u queue %u was destroyed before its adapter: the adapter is "
            "halted and its %llu packet(s) in flight completed\n",
            port_ != nullptr ? port_->id() : 0u, config_.queue_id, static_cast<unsigned long long>(in_flight));
  }
  if (port_ != nullptr) std::erase(port_->miniports_, this);
}

void DpdkMiniport::port_closing(bool eal_ending) noexcept {
  if (adapter_ != nullptr) {
    const uint64_t in_flight = remove_miniport(*adapter_);
    RTE_LOG(WARNING, USER1,
            "pkio: port %u (%s) closed while the miniport on its queue %u still had an adapter: the adapter is "
            "halted and its %llu packet(s) in flight completed\n",
            port_->id(), port_->name().c_str(), config_.queue_id, static_cast<unsigned long long>(in_flight));
  }
  port_ = nullptr;  // nothing calls into the port from here on: the adapter is halted
  if (eal_ending) slots_->abandon();
}

MiniportCharacteristics DpdkMiniport::characteristics() noexcept {
  MiniportCharacteristics c;
  c.initialize = &DpdkMiniport::initialize_entry;
  c.send_packets = &DpdkMiniport::send_packets_entry;
  c.checks_packets = true;  // below: length, segments and 802.1Q bits, before tx_burst
  c.query_information = &DpdkMiniport::query_entry;
  c.reset = &DpdkMiniport::reset_entry;
  c.halt = &DpdkMiniport::halt_entry;
  c.poll = &DpdkMiniport::poll_entry;
  // Serialized by default: the worker is the queue's only user, partial bursts are resources.
  c.deserialized = config_.deserialized;
  return c;
}

Status DpdkMiniport::initialize_entry(void* context, Adapter& adapter) noexcept {
  auto& self = *static_cast<DpdkMiniport*>(context);
  if (self.adapter_ != nullptr || self.port_ == nullptr) return Status::failure;  // one adapter each
  self.adapter_ = &adapter;
  self.check_link(true);
  return Status::success;
}

MiniportStats DpdkMiniport::stats() const noexcept { return stats_; }

Result<std::vector<FrameMemory>> DpdkMiniport::allocate_frames(uint32_t count, uint32_t largest) {
  return slots_->create_frames(count, largest);
}

uint32_t DpdkMiniport::frames_spare() const noexcept { return slots_->frames_spare(); }

uint32_t DpdkMiniport::zero_copy_slots() const noexcept { return slots_->capacity(); }

uint32_t DpdkMiniport::zero_copy_slots_spare() const noexcept { return slots_->spare(); }

uint32_t DpdkMiniport::maximum_total_size() const noexcept {
  // R26: MTU + 14, 4 less when the adapter inserts 802.1Q tags, so a tagged frame still fits.
  return port_->mtu() + 14u - (config_.priority_8021p ? vlan_tag : 0u);
}

// ---------------------------------------------------------------------------------------------
// Send

void DpdkMiniport::send_packets_entry(void* context, Packet* const* packets, uint32_t n) noexcept {
  auto* self = static_cast<DpdkMiniport*>(context);
  if (self->config_.deserialized)
    self->send_deserialized(packets, n);
  else
    self->send_packets(packets, n);
}

void DpdkMiniport::send_deserialized(Packet* const* packets, uint32_t n) noexcept {
  // Everything is accepted: behind whatever is already held back, in order (R6).
  const uint32_t capacity = config_.backlog;
  for (uint32_t i = 0; i < n; ++i) {
    packets[i]->oob.status = Status::pending;  // statuses are ignored, but never `resources`
    if (backlog_count_ == capacity) {
      ++stats_.backlog_overflow;
      send_complete(*adapter_, packets[i], Status::failure);
      continue;
    }
    backlog_[(backlog_head_ + backlog_count_++) % capacity] = packets[i];
  }
  flush_backlog();
}

void DpdkMiniport::flush_backlog() noexcept {
  const uint32_t capacity = config_.backlog;
  Packet* chunk[max_batch];
  while (backlog_count_ > 0) {
    const uint32_t k = std::min(backlog_count_, config_.maximum_send_packets);
    for (uint32_t i = 0; i < k; ++i) chunk[i] = backlog_[(backlog_head_ + i) % capacity];
    send_packets(chunk, k);  // the serialized path sets a status on each
    uint32_t done = 0;
    for (; done < k; ++done) {
      Packet* p = chunk[done];
      const Status s = p->oob.status;
      if (s == Status::resources) break;  // the PMD is full: keep the rest, retry on poll
      if (s != Status::pending) send_complete(*adapter_, p, s);  // invalid, or copy mode done
    }
    for (uint32_t i = done; i < k; ++i) chunk[i]->oob.status = Status::pending;
    backlog_head_ = (backlog_head_ + done) % capacity;
    backlog_count_ -= done;
    if (done < k) break;
  }
}

void DpdkMiniport::send_packets(Packet* const* packets, uint32_t n) noexcept {
  rte_mbuf* burst[max_batch];
  // While every packet so far is a frame or took one slot (`all_lent`), burst index = packet
  // index, and the two maps below are not written: two stores less per packet on the common
  // path.
  uint16_t owner[max_batch];  // burst index -> index in `packets`
  uint8_t lent[max_batch];    // burst index -> not a slot (0), a slot or frame (1), a chain of slots (2)
  bool all_lent = true;
  uint32_t nb = 0;
  rte_mempool* const pool = port_->mempool();
  const uint32_t max_total = maximum_total_size();
  // A frame needing more slots than there are could never go: it is invalid here instead.
  const uint32_t max_segments =
      std::min({static_cast<uint32_t>(port_->max_segments()), max_plan_segments, slots_->capacity()});
  const bool zero_copy = config_.completion == CompletionMode::on_free;

  // A valid single-buffer frame of 60 bytes or more, untagged or tagged by the PMD, is the
  // common case (the fast path below): one of our frames (create_frames) goes as its own
  // mbuf, any other buffer that fits a slot borrows one. Chains, short frames, software tags
  // and buffers larger than a slot's room (split into pieces) borrow a chain of slots
  // (build_slot_chain).
  const bool slots_on = zero_copy && slots_->capacity() > 0;
  const uint32_t slot_room = slots_->frame_room();
  const bool tags_in_software = config_.priority_8021p && !port_->vlan_offload();
  const bool tags_by_pmd = config_.priority_8021p && port_->vlan_offload();
  const bool iova_is_va = iova_is_va_;
  const FrameFinder frames = slots_->frame_finder();  // in registers for the loops below
  // Slots are taken in bulk, at the first packet that needs one (frames do not).
  rte_mbuf* lendable[max_batch];
  uint32_t lendable_count = 0;
  bool slots_taken = false;
  uint32_t lent_count = 0;

  uint32_t i = 0;
  if (slots_on && !config_.priority_8021p) nb = i = lend_leading_frames(packets, n, burst, frames, max_total);
  for (; i < n; ++i) {
    Packet* p = packets[i];
    PacketCounts c;
    rte_mbuf* m = nullptr;
    bool simple = slots_on && p->query(c) == Status::success && c.buffer_count == 1 &&
                  c.total_length >= min_frame && c.total_length <= max_total && p->ieee8021q.is_valid() &&
                  !(tags_in_software && p->ieee8021q.wants_tag()) &&
                  maps_memory(c.first_buffer->address, c.total_length);  // a Buffer changed behind our back
    if (simple) {
      m = frames.frame_of(c.first_buffer->address, c.total_length);
      simple = m != nullptr || c.total_length <= slot_room;
    }
    if (simple) [[likely]] {
      const Buffer* b = c.first_buffer;
      if (m != nullptr) {
        // Its own mbuf, a direct one: the PMD's free is DPDK's shortest.
        frames.lend_frame(m, b->length);
        if (tags_by_pmd) {
          const bool tag = p->ieee8021q.wants_tag();
          m->vlan_tci = tag ? tci_of(p->ieee8021q) : 0;
          m->ol_flags = tag ? RTE_MBUF_F_TX_VLAN : 0;
        }
      } else {
        if (lent_count == lendable_count) [[unlikely]] {
          if (!slots_taken) {
            slots_taken = true;
            lendable_count = slots_->take(lendable, n - i);
          }
          if (lent_count == lendable_count) {
            ++stats_.slots_busy;
            break;  // resources from here on
          }
        }
        m = lendable[lent_count++];
        // IOVA as VA (every virtual device, most NICs): no call, no member load per packet.
        const uint64_t iova = b->iova != 0 ? b->iova
                              : iova_is_va ? reinterpret_cast<uint64_t>(b->address)
                                           : iova_of(b);
        slots_->point(m, b->address, iova, b->length);
        if (tags_by_pmd && p->ieee8021q.wants_tag()) {
          m->vlan_tci = tci_of(p->ieee8021q);
          m->ol_flags |= RTE_MBUF_F_TX_VLAN;
        }
      }
      burst[nb] = m;
      if (!all_lent) {
        owner[nb] = static_cast<uint16_t>(i);
        lent[nb] = 1;
      }
      ++nb;
      continue;
    }
    if (all_lent) {  // from here on the maps are needed
      all_lent = false;
      for (uint32_t j = 0; j < nb; ++j) {
        owner[j] = static_cast<uint16_t>(j);
        lent[j] = 1;
      }
    }
    const uint8_t segments = zero_copy ? plan_segments(p, max_total, max_segments) : 0;
    PacketCounts counts;
    if (zero_copy ? segments == 0
                  : (p->query(counts) != Status::success || counts.total_length == 0 ||
                     counts.total_length > max_total || !p->ieee8021q.is_valid() || !p->buffers_map_memory())) {
      p->oob.status = Status::invalid_packet;
      ++stats_.invalid;
      continue;
    }
    (void)p->query(counts);  // valid: pass 1 or the check above computed the counts
    const uint32_t total = counts.total_length;
    const bool tag = config_.priority_8021p && p->ieee8021q.wants_tag();
    const bool soft_tag = tag && !port_->vlan_offload();
    const uint32_t pad = total < min_frame ? min_frame - total : 0;
    rte_mbuf* head = nullptr;

    bool chain_of_slots = false;
    if (zero_copy) {
      rte_mbuf* pieces[max_plan_segments];
      const uint32_t got = slots_->take(pieces, segments);
      if (got < segments) {
        slots_->put_back(pieces, got);
        ++stats_.slots_busy;
        break;  // resources from here on
      }
      head = build_slot_chain(p, counts, pieces, soft_tag, pad);
      chain_of_slots = true;
    } else {
      head = rte_pktmbuf_alloc(pool);
      if (head == nullptr) {
        ++stats_.mbuf_exhausted;
        break;
      }
      MbufWriter w{pool, head, head};
      bool ok = true;
      uint32_t skip = 0;
      if (soft_tag) {
        uint8_t header[mac_addresses + vlan_tag];
        gather(counts.first_buffer, mac_addresses, header);
        write_tag(header + mac_addresses, tci_of(p->ieee8021q));
        ok = w.write(header, sizeof header);
        skip = mac_addresses;
      }
      for (const Buffer* b = counts.first_buffer; b != nullptr && ok; b = b->next) {
        const uint32_t off = std::min(skip, b->length);
        skip -= off;
        ok = w.write(static_cast<const uint8_t*>(b->address) + off, b->length - off);
      }
      if (ok && pad) ok = w.zeros(pad);
      if (!ok) {
        rte_pktmbuf_free(head);
        ++stats_.mbuf_exhausted;
        break;
      }
    }
    if (tag && !soft_tag) {
      head->vlan_tci = tci_of(p->ieee8021q);
      head->ol_flags |= RTE_MBUF_F_TX_VLAN;
    }
    // Set before tx_burst: a PMD that frees at once completes the packet inside the call.
    p->oob.status = zero_copy ? Status::pending : Status::success;
    burst[nb] = head;
    owner[nb] = static_cast<uint16_t>(i);
    lent[nb] = chain_of_slots ? 2 : 0;
    ++nb;
  }
  slots_->put_back(lendable + lent_count, lendable_count - lent_count);  // taken, not used
  const uint16_t sent =
      nb == 0 ? 0 : rte_eth_tx_burst(port_->id(), config_.queue_id, burst, static_cast<uint16_t>(nb));
  ++stats_.tx_burst_calls;
  stats_.accepted += sent;
  // A slot the PMD already freed is a completed send (true completion, answered as the
  // packet's status); one it still holds completes at a later poll.
  rte_mbuf* released[max_batch];
  uint32_t released_count = 0;
  // A burst of frames alone (a generator's) needs no is_frame(), which reads a second line
  // of each mbuf: with frames a power of two apart, L1 sets are what a burst runs short of.
  const bool only_frames = all_lent && lent_count == 0;
  uint32_t j = 0;
  if (only_frames) {  // the same as the loop below for kind 1, and nothing else
    for (; j < sent; ++j) {
      Packet* p = packets[j];
      if (!frames.released(burst[j])) [[unlikely]]
        break;  // still held: the loop below holds it
      p->oob.status = Status::success;
    }
  }
  for (; j < sent; ++j) {
    const uint8_t kind = all_lent ? 1 : lent[j];
    if (kind == 0) continue;
    Packet* p = packets[all_lent ? j : owner[j]];
    rte_mbuf* m = burst[j];
    // The kind, not m->nb_segs: a PMD's free resets nb_segs and next.
    if (kind == 1 && frames.released(m)) [[likely]] {
      if (!only_frames && !slots_->is_frame(m)) released[released_count++] = m;
      p->oob.status = Status::success;
    } else if (kind == 2 && slots_->chain_released(m)) {
      slots_->put_back_chain(m, false);
      p->oob.status = Status::success;
    } else {
      slots_->hold(m, p);
      p->oob.status = Status::pending;
    }
  }
  if (tags_by_pmd)  // only then can a released slot carry RTE_MBUF_F_TX_VLAN
    slots_->put_back(released, released_count);
  else
    slots_->put_back_unflagged(released, released_count);
  uint32_t first_refused = i;  // packets from i on found no mbufs
  if (sent < nb) {
    stats_.refused += nb - sent;
    first_refused = all_lent ? sent : owner[sent];
    for (uint32_t u = sent; u < nb; ++u) {  // unsent
      if (all_lent || lent[u]) {
        slots_->put_back_chain(burst[u], true);
        continue;
      }
      rte_pktmbuf_free(burst[u]);
    }
  }
  // R16: resources at the first packet the PMD did not take, and for all after it.
  for (uint32_t k = first_refused; k < n; ++k) packets[k]->oob.status = Status::resources;
  if (first_refused < n) retry_pending_ = true;
}

uint64_t DpdkMiniport::iova_of(const Buffer* b) const noexcept {
  if (b->iova != 0) return b->iova;
  return iova_is_va_ ? reinterpret_cast<rte_iova_t>(b->address) : rte_mem_virt2iova(b->address);
}

uint8_t DpdkMiniport::plan_segments(Packet* p, uint32_t max_total, uint32_t max_segments) const noexcept {
  PacketCounts counts;
  if (p->query(counts) != Status::success || counts.total_length == 0 ||
      counts.total_length > max_total || !p->ieee8021q.is_valid())
    return 0;
  const bool soft_tag = config_.priority_8021p && p->ieee8021q.wants_tag() && !port_->vlan_offload();
  const uint32_t room = slots_->frame_room();
  if (counts.buffer_count == 1 && !soft_tag && counts.total_length >= min_frame &&
      counts.total_length <= room)
    return maps_memory(counts.first_buffer->address, counts.total_length) ? 1 : 0;
  // One slot per piece of at most a slot's room of each buffer that still has bytes after a
  // software tag's header, plus a header slot for the tag and a pad slot for a short frame.
  uint32_t skip = soft_tag ? mac_addresses : 0, segments = 0;
  if (soft_tag && counts.total_length < mac_addresses) return 0;
  for (const Buffer* b = counts.first_buffer; b != nullptr; b = b->next) {
    if (b->length > UINT16_MAX || !b->maps_memory()) return 0;
    const uint32_t off = std::min(skip, b->length);
    skip -= off;
    segments += (b->length - off + room - 1) / room;
    if (segments > max_segments) return 0;
  }
  segments += (counts.total_length < min_frame ? 1u : 0u) + (soft_tag ? 1u : 0u);
  return segments > max_segments ? 0 : static_cast<uint8_t>(segments);
}

rte_mbuf* DpdkMiniport::build_slot_chain(Packet* p, const PacketCounts& counts, rte_mbuf** m,
                                         bool soft_tag, uint32_t pad) noexcept {
  uint32_t k = 0;
  rte_mbuf* head = nullptr;
  rte_mbuf* tail = nullptr;
  auto append = [&](rte_mbuf* s) {
    if (head == nullptr) {
      head = s;
    } else {
      tail->next = s;
      MbufSlots::link(tail) = s;  // what chain_released follows: a free clears next
    }
    tail = s;
  };
  if (soft_tag) {  // header segment in the slot's own room: MAC addresses + tag
    rte_mbuf* h = m[k++];
    char* own = MbufSlots::own_room(h);
    gather(counts.first_buffer, mac_addresses, reinterpret_cast<uint8_t*>(own));
    write_tag(reinterpret_cast<uint8_t*>(own) + mac_addresses, tci_of(p->ieee8021q));
    slots_->point(h, own, MbufSlots::own_room_iova(h), mac_addresses + vlan_tag);
    append(h);
  }
  // Zero-copy pieces of at most a slot's room: a reset can then copy any frame a consumer
  // still holds into the slots' own rooms (MbufSlots::orphan_held), jumbo frames included.
  const uint32_t room = slots_->frame_room();
  uint32_t skip = soft_tag ? mac_addresses : 0;
  for (Buffer* b = counts.first_buffer; b != nullptr; b = b->next) {
    const uint32_t off = std::min(skip, b->length);
    skip -= off;
    for (uint32_t at = off; at < b->length;) {
      const uint32_t piece = std::min(b->length - at, room);
      rte_mbuf* s = m[k++];
      slots_->point(s, static_cast<uint8_t*>(b->address) + at, iova_of(b) + at, piece);
      append(s);
      at += piece;
    }
  }
  if (pad) {  // zeroed, never stale memory (CVE-2003-0001)
    rte_mbuf* s = m[k++];
    char* own = MbufSlots::own_room(s);
    std::memset(own, 0, pad);
    slots_->point(s, own, MbufSlots::own_room_iova(s), pad);
    append(s);
  }
  head->nb_segs = static_cast<uint16_t>(k);
  head->pkt_len = counts.total_length + pad + (soft_tag ? vlan_tag : 0);
  return head;
}

// ---------------------------------------------------------------------------------------------
// Poll, reset, halt

void DpdkMiniport::poll_entry(void* context) noexcept { static_cast<DpdkMiniport*>(context)->poll(); }

void DpdkMiniport::poll() noexcept {
  // A worker thread the adapter started is not an EAL lcore: without an lcore id it would get
  // no mempool cache and every mbuf would go through the pool's shared ring. Register it once.
  // initial-exec: a plain thread-pointer access, not a __tls_get_addr call on every poll.
  static thread_local bool registered __attribute__((tls_model("initial-exec"))) = false;
  if (!registered) {
    registered = true;
    if (rte_lcore_id() == LCORE_ID_ANY) (void)rte_thread_register();
  }
  if (cleanup_supported_ && rte_eth_tx_done_cleanup(port_->id(), config_.queue_id, 0) < 0)
    cleanup_supported_ = false;  // -ENOTSUP: this PMD frees in tx_burst or when its ring wraps
  if (slots_->held() > 0) reap_slots(completion_status_.load(std::memory_order_relaxed));
  if (backlog_count_ > 0) flush_backlog();
  if (retry_pending_) {
    // A full ring or an empty pool: let the dispatcher try again on the next step. Bounded:
    // one attempt per poll, and the adapter's send timeout ends a queue that never drains.
    retry_pending_ = false;
    if (adapter_ != nullptr) send_resources_available(*adapter_);
  }
  if (link_poll_cycles_ != 0 && rte_get_timer_cycles() >= next_link_check_) check_link(false);
}

void DpdkMiniport::reap_slots(Status status) noexcept {
  // A packet refused for want of a slot is retried through retry_pending_, set at refusal.
  Adapter* adapter = adapter_;
  uint32_t completed = 0;
  (void)slots_->reap([adapter, status, &completed](Packet* p) {
    ++completed;
    if (adapter != nullptr) send_complete(*adapter, p, status);
  });
  if (status != Status::success) stats_.completed_by_reset += completed;
}

void DpdkMiniport::check_link(bool force) noexcept {
  next_link_check_ = rte_get_timer_cycles() + link_poll_cycles_;
  const int up = port_->link_up() ? 1 : 0;
  if (!force && up == link_up_) return;
  link_up_ = up;
  if (adapter_ != nullptr)
    indicate_status(*adapter_, up ? Indication::media_connect : Indication::media_disconnect);
}

Status DpdkMiniport::reset_entry(void* context) noexcept {
  auto& self = *static_cast<DpdkMiniport*>(context);
  // Packets whose mbufs the PMD frees while the port stops complete with reset_in_progress.
  self.completion_status_.store(Status::reset_in_progress, std::memory_order_relaxed);
  Status s = self.port_->stop();
  if (s == Status::success) s = self.port_->start();
  // Slots the PMD freed complete now; a consumer still holding one gets a copy of its frame,
  // so the adapter can complete the packet (reset_in_progress) and the protocol reuse it.
  self.reap_slots(Status::reset_in_progress);
  self.stats_.completed_by_reset += self.slots_->orphan_held();  // the adapter completes them
  self.completion_status_.store(Status::success, std::memory_order_relaxed);
  self.retry_pending_ = false;
  // Held-back packets are still pending in the adapter, which completes them after the reset.
  self.backlog_count_ = 0;
  self.check_link(true);
  return s;
}

void DpdkMiniport::halt_entry(void* context) noexcept {
  auto& self = *static_cast<DpdkMiniport*>(context);
  self.completion_status_.store(Status::request_aborted, std::memory_order_relaxed);
  if (self.cleanup_supported_) rte_eth_tx_done_cleanup(self.port_->id(), self.config_.queue_id, 0);
  self.reap_slots(Status::request_aborted);
  self.stats_.completed_by_reset += self.slots_->orphan_held();  // the adapter completes them
  self.backlog_count_ = 0;  // the adapter completes them (request_aborted) after halt
  self.adapter_ = nullptr;
}

// ---------------------------------------------------------------------------------------------
// Requests (R24, R26)

Status DpdkMiniport::query_entry(void* context, Oid oid, void* buffer, uint32_t length,
                                 uint32_t* written, uint32_t* needed) noexcept {
  auto& self = *static_cast<DpdkMiniport*>(context);
  uint32_t value = 0;
  switch (oid) {
    case Oid::maximum_send_packets:
      value = self.config_.maximum_send_packets;
      break;
    case Oid::maximum_frame_size:
    case Oid::maximum_lookahead:
      value = self.port_->mtu();
      break;
    case Oid::maximum_total_size:
      value = self.maximum_total_size();
      break;
    case Oid::transmit_block_size:
      value = RTE_MBUF_DEFAULT_DATAROOM;
      break;
    case Oid::transmit_buffer_space:
      value = static_cast<uint32_t>(self.port_->tx_descriptors()) * (self.port_->mtu() + 14u);
      break;
    case Oid::link_speed:
    case Oid::media_connect_status: {
      rte_eth_link link{};
      if (rte_eth_link_get_nowait(self.port_->id(), &link) != 0) return Status::failure;
      if (oid == Oid::link_speed) {
        // link_speed is in Mbit/s; NDIS counts in units of 100 bit/s.
        const uint64_t units = static_cast<uint64_t>(link.link_speed) * 10000u;
        value = units > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(units);
      } else {
        value = static_cast<uint32_t>(self.port_->link_up() ? MediaState::connected : MediaState::disconnected);
      }
      break;
    }
    case Oid::mac_options: {
      // No virtual device or NIC here loops frames back to the sender (R26).
      value = mac_option::no_loopback;
      rte_eth_link link{};
      if (rte_eth_link_get_nowait(self.port_->id(), &link) == 0 &&
          link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX)
        value |= mac_option::full_duplex;
      if (self.config_.priority_8021p) value |= mac_option::priority_8021p;
      break;
    }
    default:
      *written = 0;
      *needed = 0;
      return Status::not_supported;
  }
  return answer_query(&value, sizeof value, buffer, length, written, needed);
}

}  // namespace pkio::dpdk
