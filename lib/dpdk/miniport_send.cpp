// The DPDK miniport's send path (MiniportSendPackets): a burst prepared, handed to the PMD,
// its packets answered, what the PMD left given back; the deserialized backlog; chains of
// slots for what is not one buffer. Creation, poll, reset, halt and requests: miniport.cpp.
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
/// Tagged frames up to this size (tag in) are copied into one slot with the tag (copy_tagged):
/// up to about a KiB the copy costs less than a chain's second slot and second free; beyond,
/// the bytes copied cost more.
constexpr uint32_t tag_copy_limit = 1024;

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
/// many it lent (burst[k] for packets[k]); the general path takes the rest.
[[gnu::always_inline]] inline uint32_t lend_leading_frames(Packet* const* packets, uint32_t n, rte_mbuf** burst,
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
template <bool completes_itself>
[[gnu::always_inline]] inline uint32_t DpdkMiniport::send_serialized(Packet* const* packets, uint32_t n) noexcept {
  // A generator's burst, its frames first, each as its own mbuf, takes the straight path
  // here, inlined into the entry: a call level is a good part of what a burst of one costs,
  // and this function's few values stay in registers (inside send_packets, which handles
  // every other case too, they would be spilled to the stack).
  if (frames_first_) [[likely]] {
    rte_mbuf* mbufs[max_batch];
    const uint32_t lent = lend_leading_frames(packets, n, mbufs, slots_->finder(), max_total_);
    if (lent == n) [[likely]]
      return send_lent_frames<completes_itself>(packets, n, mbufs);
    send_packets(packets, n, mbufs, lent);
  } else {
    send_packets(packets, n, nullptr, 0);
  }
  if constexpr (!completes_itself) return 0;  // the serialized entry does not ask
  uint32_t ok = 0;
  while (ok < n && packets[ok]->oob.status == Status::success) ++ok;
  return ok;
}

namespace {
/// More than a send's deepest chain of frames takes (the dispatcher's and the miniport's
/// arrays of max_batch entries are the big ones, under 40 KiB together).
constexpr size_t send_stack_bytes = 64 * 1024;

/// Writes a byte into every page of the stack a send can reach below the caller: a thread's
/// stack is mapped page by page as it is first touched, a fault of a microsecond or more each,
/// which the first send would otherwise take.
[[gnu::noinline]] void touch_send_stack() noexcept {
  [[maybe_unused]] volatile uint8_t stack[send_stack_bytes];
  for (size_t i = 0; i < send_stack_bytes; i += 4096) stack[i] = 0;
}
}  // namespace

void DpdkMiniport::warm_up() noexcept {
  touch_send_stack();
  // A first burst's slots: a tagged or chained packet takes two or more.
  if (slots_) slots_->warm(2 * config_.maximum_send_packets);
  if (port_ != nullptr) (void)rte_eth_tx_burst(port_->id(), config_.queue_id, nullptr, 0);
}

void DpdkMiniport::warm_packets(Packet* const* first, uint32_t n) const noexcept {
  uint64_t sum = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const Packet* p = first[i];
    if (p == nullptr) continue;
    read_cache_lines(p, sizeof(Packet), sum);
    PacketCounts c;
    if (!p->query_kept(c) || c.first_buffer == nullptr) continue;
    read_cache_lines(c.first_buffer, sizeof(Buffer), sum);
    read_cache_lines(c.first_buffer->address, std::min<uint32_t>(c.first_buffer->length, 2 * RTE_CACHE_LINE_SIZE), sum);
    if (slots_ == nullptr) continue;
    if (const rte_mbuf* m = slots_->finder().frame_of(c.first_buffer->address, c.total_length))
      read_cache_lines(m, sizeof(rte_mbuf), sum);  // what lend_frame writes and the PMD's free reads
  }
  asm volatile("" : : "r"(sum));  // the loads are the point
}

void DpdkMiniport::send_serialized_entry(void* context, Packet* const* packets, uint32_t n) noexcept {
  (void)static_cast<DpdkMiniport*>(context)->send_serialized<false>(packets, n);
}

void DpdkMiniport::send_deserialized_entry(void* context, Packet* const* packets, uint32_t n) noexcept {
  static_cast<DpdkMiniport*>(context)->send_deserialized(packets, n);
}

void DpdkMiniport::send_deserialized(Packet* const* packets, uint32_t n) noexcept {
  // Everything is accepted. With nothing held back, the array goes to the PMD as it is, and
  // only what the PMD has no room for is held back; otherwise all of it goes behind what
  // already is, in order (R6).
  uint32_t i = 0;
  if (backlog_count_ == 0 && n <= config_.maximum_send_packets) [[likely]] {
    i = send_serialized<true>(packets, n);  // the leading successes; a status on each after them
    if (i != 0) send_complete_packets(*adapter_, packets, i, Status::success);
    for (; i < n; ++i) {
      Packet* p = packets[i];
      const Status s = p->oob.status;
      if (s == Status::resources) break;
      if (s != Status::pending) send_complete(*adapter_, p, s);  // sent (or invalid, or copied)
    }
    if (i == n) return;
  }
  const uint32_t capacity = config_.backlog;
  for (; i < n; ++i) {
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
    send_serialized_entry(this, chunk, k);  // the serialized path sets a status on each
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

/// What an entry of a burst became on its way to the PMD, kept per mbuf of the burst.
enum class DpdkMiniport::Sent : uint8_t {
  copied,    ///< copy mode: its bytes in an mbuf of the port's pool, completed once taken
  one_mbuf,  ///< one mbuf of ours: its frame's own (allocate_frames), or a slot pointed at it
  slots,     ///< a chain of slots: several buffers, a software 802.1Q tag, padding, a jumbo buffer
};

/// The mbufs of one send_packets call, in the order they go to the PMD. While every packet
/// so far became one mbuf (`in_order` in Prepared), mbuf k is packet k and `owner` and `sent`
/// are not written: two stores less a packet on the common path.
struct DpdkMiniport::Burst {
  rte_mbuf* mbufs[max_batch];
  uint16_t owner[max_batch];  ///< mbuf index -> index in the packets array
  Sent sent[max_batch];       ///< what each mbuf carries
};

/// What prepare() made (kept apart from Burst, in registers: stores through mbuf pointers
/// would otherwise make the compiler reload it at every packet).
struct DpdkMiniport::Prepared {
  uint32_t packets;  ///< packets[0..packets) have an mbuf or a final status; the rest found no mbufs
  uint32_t mbufs;    ///< mbufs in the burst
  bool in_order;     ///< mbuf k is packet k, each one mbuf (Burst's owner and sent unwritten)
  bool only_frames;  ///< and each of them its frame's own mbuf (no slot)
};


// The steps below are one call per burst each; inlined, so that a burst of one pays no calls.
[[gnu::always_inline]] inline uint32_t DpdkMiniport::hand_to_pmd(Burst& burst, uint32_t mbufs) noexcept {
  const uint16_t taken =
      mbufs == 0 ? 0 : rte_eth_tx_burst(port_->id(), config_.queue_id, burst.mbufs, static_cast<uint16_t>(mbufs));
  ++stats_.tx_burst_calls;
  stats_.accepted += taken;
  return taken;
}

template <bool completes_itself>
[[gnu::always_inline]] inline uint32_t DpdkMiniport::send_lent_frames(Packet* const* packets, uint32_t n,
                                                                       rte_mbuf** mbufs) noexcept {
  // The four steps for a burst of frames alone, with nothing of the general case's bookkeeping:
  // mbuf k is packet k, each a frame's own mbuf (lent by lend_leading_frames). Returns how
  // many leading packets succeeded. `completes_itself` (deserialized): those go back by
  // send_complete, which gives their status, so none is written into them here.
  const FrameFinder& frames = slots_->finder();
  const uint16_t taken = rte_eth_tx_burst(port_->id(), config_.queue_id, mbufs, static_cast<uint16_t>(n));
  ++stats_.tx_burst_calls;
  stats_.accepted += taken;
  uint32_t ok = taken;
  for (uint32_t j = 0; j < taken; ++j) {
    if (frames.released(mbufs[j])) [[likely]] {
      if (!completes_itself || ok != taken) packets[j]->oob.status = Status::success;
    } else {
      slots_->hold(mbufs[j], packets[j]);
      packets[j]->oob.status = Status::pending;
      ok = std::min(ok, j);
    }
  }
  if (taken == n) [[likely]] return ok;
  stats_.refused += n - taken;
  for (uint32_t u = taken; u < n; ++u) {
    rte_mbuf_refcnt_set(mbufs[u], frames.released_count);  // not sent: the protocol's again
    packets[u]->oob.status = Status::resources;
  }
  retry_pending_ = true;
  return ok;
}

[[gnu::always_inline]] inline DpdkMiniport::Prepared DpdkMiniport::prepare(Packet* const* packets, uint32_t n,
                                                                          Burst& burst, uint32_t lent) noexcept {
  // A valid single-buffer frame of 60 bytes or more, untagged or tagged by the PMD, is the
  // common case: one of our frames (allocate_frames) goes as its own mbuf, any other buffer
  // that fits a slot borrows one, and a small one tagged in software is copied into one with
  // its tag. Chains, short frames, larger software-tagged frames and buffers larger than a
  // slot's room (split into pieces) borrow a chain of slots (prepare_chain); in copy mode
  // every packet is copied (prepare_chain too).
  rte_mbuf** const mbufs = burst.mbufs;
  bool in_order = true;
  uint32_t nb = 0;
  const uint32_t max_total = max_total_;
  const bool slots_on = config_.completion == CompletionMode::on_free && slots_->capacity() > 0;
  const uint32_t slot_room = slots_->frame_room();
  const bool tags_in_software = config_.priority_8021p && !port_->vlan_offload();
  const bool tags_by_pmd = config_.priority_8021p && port_->vlan_offload();
  const bool iova_is_va = iova_is_va_;
  const FrameFinder frames = slots_->finder();  // a copy in registers for the loops below
  // Slots are taken in bulk, at the first packet that needs one (frames do not).
  rte_mbuf* lendable[max_batch];
  uint32_t lendable_count = 0;
  bool slots_taken = false;
  uint32_t lent_count = 0;

  // The frames send_packets lent already (lend_leading_frames) stay where they are.
  uint32_t i = lent;
  nb = lent;
  for (; i < n; ++i) {
    Packet* p = packets[i];
    PacketCounts c;
    rte_mbuf* m = nullptr;
    bool simple = slots_on && p->query(c) == Status::success && c.buffer_count == 1 &&
                  c.total_length >= min_frame && c.total_length <= max_total && p->ieee8021q.is_valid() &&
                  maps_memory(c.first_buffer->address, c.total_length);  // a Buffer changed behind our back
    // A tag inserted here needs the frame rewritten: a small one is copied whole into a
    // slot's own room, one segment, where a chain (header slot + the frame) costs a second
    // slot, the map and a second free in the PMD. It still completes when the PMD frees it.
    const bool soft_tag = tags_in_software && p->ieee8021q.wants_tag();
    if (simple) {
      m = soft_tag ? nullptr : frames.frame_of(c.first_buffer->address, c.total_length);
      simple = m != nullptr || (soft_tag ? c.total_length + vlan_tag <= std::min(slot_room, tag_copy_limit)
                                         : c.total_length <= slot_room);
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
        if (soft_tag) [[unlikely]] {
          copy_tagged(m, b, tci_of(p->ieee8021q));
        } else {
          const uint64_t iova = b->iova != 0 ? b->iova
                                : iova_is_va ? reinterpret_cast<uint64_t>(b->address)
                                             : iova_of(b);
          slots_->point(m, b->address, iova, b->length);
        }
        if (tags_by_pmd && p->ieee8021q.wants_tag()) {
          m->vlan_tci = tci_of(p->ieee8021q);
          m->ol_flags |= RTE_MBUF_F_TX_VLAN;
        }
      }
      mbufs[nb] = m;
      if (!in_order) {
        burst.owner[nb] = static_cast<uint16_t>(i);
        burst.sent[nb] = Sent::one_mbuf;
      }
      ++nb;
      continue;
    }
    if (in_order) {  // from here on the maps are needed
      in_order = false;
      for (uint32_t j = 0; j < nb; ++j) {
        burst.owner[j] = static_cast<uint16_t>(j);
        burst.sent[j] = Sent::one_mbuf;
      }
    }
    Sent sent = Sent::copied;
    rte_mbuf* head = nullptr;
    const ChainOutcome outcome = prepare_chain(p, max_total, head, sent);
    if (outcome == ChainOutcome::invalid) continue;  // answered invalid_packet, nothing to send
    if (outcome == ChainOutcome::no_mbufs) break;    // resources from here on
    // Set before tx_burst: a PMD that frees at once completes the packet inside the call.
    p->oob.status = sent == Sent::copied ? Status::success : Status::pending;
    mbufs[nb] = head;
    burst.owner[nb] = static_cast<uint16_t>(i);
    burst.sent[nb] = sent;
    ++nb;
  }
  slots_->put_back(lendable + lent_count, lendable_count - lent_count);  // taken, not used
  return Prepared{i, nb, in_order, in_order && lent_count == 0};
}

DpdkMiniport::ChainOutcome DpdkMiniport::prepare_chain(Packet* p, uint32_t max_total, rte_mbuf*& head,
                                                      Sent& sent) noexcept {
  const bool zero_copy = config_.completion == CompletionMode::on_free;
  // A frame needing more slots than there are could never go: it is invalid here instead.
  const uint32_t max_segments =
      std::min({static_cast<uint32_t>(port_->max_segments()), max_plan_segments, slots_->capacity()});
  const uint8_t segments = zero_copy ? plan_segments(p, max_total, max_segments) : 0;
  PacketCounts counts;
  if (zero_copy ? segments == 0
                : (p->query(counts) != Status::success || counts.total_length == 0 ||
                   counts.total_length > max_total || !p->ieee8021q.is_valid() || !p->buffers_map_memory())) {
    p->oob.status = Status::invalid_packet;
    ++stats_.invalid;
    return ChainOutcome::invalid;
  }
  (void)p->query(counts);  // valid: planning or the check above computed the counts
  const uint32_t total = counts.total_length;
  const bool tag = config_.priority_8021p && p->ieee8021q.wants_tag();
  const bool soft_tag = tag && !port_->vlan_offload();
  const uint32_t pad = total < min_frame ? min_frame - total : 0;
  if (zero_copy) {
    rte_mbuf* pieces[max_plan_segments];
    const uint32_t got = slots_->take(pieces, segments);
    if (got < segments) {
      slots_->put_back(pieces, got);
      ++stats_.slots_busy;
      return ChainOutcome::no_mbufs;
    }
    head = build_slot_chain(p, counts, pieces, soft_tag, pad);
    sent = Sent::slots;
  } else {
    head = copy_into_mbufs(p, counts, soft_tag, pad);
    if (head == nullptr) {
      ++stats_.mbuf_exhausted;
      return ChainOutcome::no_mbufs;
    }
    sent = Sent::copied;
  }
  if (tag && !soft_tag) {
    head->vlan_tci = tci_of(p->ieee8021q);
    head->ol_flags |= RTE_MBUF_F_TX_VLAN;
  }
  return ChainOutcome::ready;
}

rte_mbuf* DpdkMiniport::copy_into_mbufs(Packet* p, const PacketCounts& counts, bool soft_tag, uint32_t pad) noexcept {
  rte_mempool* const pool = port_->mempool();
  rte_mbuf* head = rte_pktmbuf_alloc(pool);
  if (head == nullptr) return nullptr;
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
    return nullptr;
  }
  return head;
}

[[gnu::always_inline]] inline void DpdkMiniport::classify(Packet* const* packets, const Burst& burst, const Prepared& prepared,
                            uint32_t taken) noexcept {
  // What the PMD took: one it already freed is a completed send (true completion, answered
  // success); one it still holds is pending and completes at a later poll (reap_slots).
  const FrameFinder frames = slots_->finder();
  rte_mbuf* released[max_batch];
  uint32_t released_count = 0;
  uint32_t j = 0;
  // A burst of frames alone (a generator's) needs no is_frame(), which reads a second line of
  // each mbuf: with frames a power of two apart, L1 sets are what a burst runs short of.
  if (prepared.only_frames) {  // the same as the loop below for one mbuf each, and no more
    for (; j < taken; ++j) {
      if (!frames.released(burst.mbufs[j])) [[unlikely]]
        break;  // still held: the loop below holds it
      packets[j]->oob.status = Status::success;
    }
  }
  for (; j < taken; ++j) {
    const Sent sent = prepared.in_order ? Sent::one_mbuf : burst.sent[j];
    if (sent == Sent::copied) continue;  // answered success when it was copied
    Packet* p = packets[prepared.in_order ? j : burst.owner[j]];
    rte_mbuf* m = burst.mbufs[j];
    // What it carries, not m->nb_segs: a PMD's free resets nb_segs and next.
    if (sent == Sent::one_mbuf && frames.released(m)) [[likely]] {
      if (!prepared.only_frames && !slots_->is_frame(m)) released[released_count++] = m;
      p->oob.status = Status::success;
    } else if (sent == Sent::slots && slots_->chain_released(m)) {
      slots_->put_back_chain(m, false);
      p->oob.status = Status::success;
    } else {
      slots_->hold(m, p);
      p->oob.status = Status::pending;
    }
  }
  if (config_.priority_8021p && port_->vlan_offload())  // only then can a slot carry RTE_MBUF_F_TX_VLAN
    slots_->put_back(released, released_count);
  else
    slots_->put_back_unflagged(released, released_count);
}

[[gnu::always_inline]] inline void DpdkMiniport::give_back(Packet* const* packets, uint32_t n, const Burst& burst, const Prepared& prepared,
                             uint32_t taken) noexcept {
  // What the PMD left goes back (slots spare again, copies freed), and the packets from the
  // first one it left, or the first that found no mbufs, are answered resources (R16).
  uint32_t first_refused = prepared.packets;
  if (taken < prepared.mbufs) {
    stats_.refused += prepared.mbufs - taken;
    first_refused = prepared.in_order ? taken : burst.owner[taken];
    for (uint32_t u = taken; u < prepared.mbufs; ++u) {
      if (prepared.in_order || burst.sent[u] != Sent::copied)
        slots_->put_back_chain(burst.mbufs[u], true);
      else
        rte_pktmbuf_free(burst.mbufs[u]);
    }
  }
  for (uint32_t k = first_refused; k < n; ++k) packets[k]->oob.status = Status::resources;
  if (first_refused < n) retry_pending_ = true;
}

void DpdkMiniport::send_packets(Packet* const* packets, uint32_t n, rte_mbuf* const* lent_mbufs,
                                uint32_t lent) noexcept {
  // ixgbe_tx_batch-like in four steps: each packet gets its mbufs (or a final status), the
  // PMD takes what it can, what it took is answered success (freed already: the true
  // completion) or pending (completes at a later poll), and what it left is given back and
  // answered resources (R16). `lent`: the leading packets already have their frames' mbufs.
  Burst burst;
  std::copy_n(lent_mbufs, lent, burst.mbufs);
  const Prepared prepared = prepare(packets, n, burst, lent);
  const uint32_t taken = hand_to_pmd(burst, prepared.mbufs);
  classify(packets, burst, prepared, taken);
  give_back(packets, n, burst, prepared, taken);
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

void DpdkMiniport::copy_tagged(rte_mbuf* m, const Buffer* b, uint16_t tci) noexcept {
  auto* own = reinterpret_cast<uint8_t*>(MbufSlots::own_room(m));
  std::memcpy(own, b->address, mac_addresses);
  write_tag(own + mac_addresses, tci);
  std::memcpy(own + mac_addresses + vlan_tag, static_cast<const uint8_t*>(b->address) + mac_addresses,
              b->length - mac_addresses);
  slots_->point(m, own, MbufSlots::own_room_iova(m), b->length + vlan_tag);
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

}  // namespace pkio::dpdk
