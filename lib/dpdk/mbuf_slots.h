/// @file
/// MbufSlots: a miniport's own mbufs, lent to single-buffer packets for zero-copy sends, with
/// completion read from the mbuf's reference count (NDIS: the true send completion of a
/// MiniportSendPackets that returned NDIS_STATUS_PENDING).
///
/// Why: allocating an mbuf, attaching the packet's buffer and getting a free callback per
/// packet costs about half again the raw tx_burst rate. A slot mbuf is allocated once and
/// attached to a buffer inside its own data room; a send only points it at the packet's
/// buffer and sets its reference count to 2 (ours + the PMD's). The PMD's free then just
/// drops the count back to 1 (rte_pktmbuf_prefree_seg), and a count of 1 means the device
/// no longer reads the buffer. No allocation, attach, detach or callback per packet.
///
/// Held slots (count still 2) are kept in submission order; reap() completes them from the
/// oldest while their count is 1, so a PMD that frees out of order delays the younger ones
/// until the older are freed (every PMD in DPDK frees a queue's mbufs in order).
///
/// Orphaning (reset, halt, destruction): a slot still held by someone else (a net_ring
/// consumer that has not freed it) gets a copy of its frame in its own data room and is
/// pointed there, so its packet can complete and be reused while the holder still reads a
/// valid frame. No segment is longer than the data room (the miniport splits longer
/// buffers into pieces), so every held frame can be copied.
///
/// Chains: a multi-buffer packet, or a buffer longer than the data room, takes one slot per
/// segment or piece (a software 802.1Q header and zero padding are written into a slot's own
/// room); it completes when every segment is released.
///
/// Threading: the miniport's worker only; the holder's free may run on any thread (the
/// count is atomic and read with acquire order).
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "packet/packet.h"

namespace pkio::dpdk {

/// A miniport's pool of persistent zero-copy mbufs; see the file comment.
class MbufSlots {
 public:
  MbufSlots() = default;
  MbufSlots(const MbufSlots&) = delete;
  MbufSlots& operator=(const MbufSlots&) = delete;
  /// Orphans what is still held and gives every mbuf back to its pool.
  ~MbufSlots();

  /// Takes `count` mbufs from `pool` (count 0: no slots). failure with a one-line error if
  /// the pool cannot give them.
  [[nodiscard]] Status create(rte_mempool* pool, uint32_t count, std::string* error);

  /// The longest frame a slot takes.
  [[nodiscard]] uint32_t frame_room() const noexcept { return frame_room_; }

  /// Takes up to `n` spare slots into `out` (the caller points them with point() and gives
  /// back the ones it does not send). Returns how many it took. In bulk, so the spare count
  /// is not a memory round trip per packet.
  [[nodiscard]] uint32_t take(rte_mbuf** out, uint32_t n) noexcept {
    const uint32_t k = n < spare_count_ ? n : spare_count_;
    spare_count_ -= k;
    for (uint32_t i = 0; i < k; ++i) out[i] = spare_[spare_count_ + i];
    return k;
  }

  /// Points a taken slot at [address, address + length) and counts the PMD's reference.
  static void point(rte_mbuf* m, void* address, uint64_t iova, uint32_t length) noexcept {
    // Four stores instead of seven (a send is bound by stores): the address pair, the rearm
    // word (data_off 0, refcnt 2, nb_segs 1, port), the lengths with vlan_tci 0, buf_len.
    // ol_flags stays RTE_MBUF_F_EXTERNAL (put_back clears any offload flag).
    struct AddressPair {
      void* address;
      uint64_t iova;
    } pair{address, iova};
    static_assert(offsetof(rte_mbuf, buf_iova) == offsetof(rte_mbuf, buf_addr) + 8);
    std::memcpy(&m->buf_addr, &pair, sizeof pair);
    // Every slot's port field is RTE_MBUF_PORT_INVALID (create()), so the word is a constant:
    // no load of the mbuf before its stores.
    constexpr uint64_t rearm =
        uint64_t{2} << 16 | uint64_t{1} << 32 | uint64_t{RTE_MBUF_PORT_INVALID} << 48;
    std::memcpy(&m->rearm_data, &rearm, sizeof rearm);
    static_assert(offsetof(rte_mbuf, data_len) == offsetof(rte_mbuf, pkt_len) + 4 &&
                  offsetof(rte_mbuf, vlan_tci) == offsetof(rte_mbuf, pkt_len) + 6);
    const uint64_t lengths = length | uint64_t{length} << 32;  // pkt_len, data_len, vlan_tci 0
    std::memcpy(&m->pkt_len, &lengths, sizeof lengths);
    m->buf_len = static_cast<uint16_t>(length);
  }

  /// The slot's own data room (for bytes the miniport writes itself: a tag header, padding)
  /// and its IO address. Frames pointed there need no copy when orphaned.
  [[nodiscard]] static char* own_room(rte_mbuf* m) noexcept { return rte_mbuf_buf_addr(m, m->pool); }
  /// The IO address of own_room(m).
  [[nodiscard]] static rte_iova_t own_room_iova(rte_mbuf* m) noexcept {
    return rte_mempool_virt2iova(m) + sizeof(rte_mbuf) + rte_pktmbuf_priv_size(m->pool);
  }

  /// True once the holder has freed every segment of the chain at `head`.
  [[nodiscard]] static bool chain_released(const rte_mbuf* head) noexcept {
    for (const rte_mbuf* m = head; m != nullptr; m = m->next)
      if (!released(m)) return false;
    return true;
  }

  /// A released (or never sent, `unsent`) chain of slots is spare again, segment by segment.
  void put_back_chain(rte_mbuf* head, bool unsent) noexcept {
    while (head != nullptr) {
      rte_mbuf* next = head->next;
      head->next = nullptr;
      head->nb_segs = 1;
      if (unsent) rte_mbuf_refcnt_set(head, 1);
      put_back(&head, 1);
      head = next;
    }
  }

  /// True once the holder has freed `m` (its count is back to 1).
  [[nodiscard]] static bool released(const rte_mbuf* m) noexcept {
    return __atomic_load_n(&m->refcnt, __ATOMIC_ACQUIRE) == 1;
  }

  /// As put_back(), for slots whose offload flags were never changed (no RTE_MBUF_F_TX_VLAN
  /// was set on them): the common send path, which then does not read each mbuf again.
  void put_back_unflagged(rte_mbuf* const* ms, uint32_t n) noexcept {
    for (uint32_t i = 0; i < n; ++i) spare_[spare_count_ + i] = ms[i];
    spare_count_ += n;
  }

  /// Slots whose count is 1 (released, or taken and never pointed) are spare again.
  void put_back(rte_mbuf* const* ms, uint32_t n) noexcept {
    for (uint32_t i = 0; i < n; ++i) {
      rte_mbuf* m = ms[i];
      if (m->ol_flags != RTE_MBUF_F_EXTERNAL) [[unlikely]] m->ol_flags = RTE_MBUF_F_EXTERNAL;
      spare_[spare_count_ + i] = m;
    }
    spare_count_ += n;
  }

  /// The chain at `m` is still held for `packet`: it completes through reap().
  void hold(rte_mbuf* m, Packet* packet) noexcept {
    held_[(held_head_ + held_count_++) & held_mask_] = Held{m, packet};
  }

  /// Completes held slots from the oldest while they are released: `complete(packet)` for
  /// each (packet null for an orphan, which is only made spare). Returns how many it freed.
  template <typename Complete>
  uint32_t reap(Complete&& complete) noexcept {
    uint32_t done = 0;
    while (held_count_ > 0) {
      Held& h = held_[held_head_];
      if (!chain_released(h.mbuf)) break;
      Packet* p = h.packet;
      put_back_chain(h.mbuf, false);
      held_head_ = (held_head_ + 1) & held_mask_;
      --held_count_;
      ++done;
      if (p != nullptr) complete(p);
    }
    return done;
  }

  /// Copies each held frame into its slot's own room and forgets its packet (see the file
  /// comment): the packets may then be completed by someone else. Returns how many packets
  /// were forgotten, those whose slots were freed meanwhile included.
  uint32_t orphan_held() noexcept;

  /// Slots held by a PMD or consumer.
  [[nodiscard]] uint32_t held() const noexcept { return held_count_; }
  /// Slots ready to lend.
  [[nodiscard]] uint32_t spare() const noexcept { return spare_count_; }
  /// Slots in all.
  [[nodiscard]] uint32_t capacity() const noexcept { return capacity_; }

 private:
  struct Held {
    rte_mbuf* mbuf;
    Packet* packet;
  };
  void orphan(rte_mbuf* m) noexcept;

  std::unique_ptr<rte_mbuf*[]> spare_;
  std::unique_ptr<Held[]> held_;
  uint32_t spare_count_ = 0;
  uint32_t held_head_ = 0;
  uint32_t held_count_ = 0;
  uint32_t held_mask_ = 0;
  uint32_t capacity_ = 0;
  uint32_t frame_room_ = 0;
};

}  // namespace pkio::dpdk
