/// @file
/// MbufSlots: a miniport's own mbufs, lent to single-buffer packets for zero-copy sends, with
/// completion read from the mbuf itself (NDIS: the true send completion of a
/// MiniportSendPackets that returned NDIS_STATUS_PENDING).
///
/// Why: allocating an mbuf, attaching the packet's buffer and getting a free callback per
/// packet costs about half again the raw tx_burst rate. A slot mbuf is made once, in a pool
/// of the miniport's own, attached to a buffer inside its own data room; a send only points
/// it at the packet's buffer. The PMD's free then tells us the device is done with it, in one
/// of two ways (ReleaseSignal), chosen at create():
/// - reference_count (create()'s default): the slot is lent with a count of 2 (ours + the
///   PMD's); the PMD's free is one locked decrement back to 1 and goes no further (no mempool
///   put, no lcore lookup, no driver call), and a count of 1 means released.
/// - pool_return: the pool's mempool driver ("pkio_slots") does nothing on a free but mark
///   the slot released (reference count 0, one release store). The slot is lent with a count
///   of 1, so the PMD's free has no locked instruction, but it is DPDK's whole free to a pool
///   without a cache: a TLS lookup of the lcore and an indirect call into the driver per put
///   (one mbuf, or a bulk free's run of them). Compare BM_MiniportOnly with
///   BM_RawPoolReturnTxBurst in bench_send_path.
/// Which is faster depends on what a locked instruction costs on the CPU; the miniport
/// chooses (MiniportConfig::release_detection).
/// The pool's buffers are "pinned" (RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF), so a free leaves each
/// slot attached where it was pointed. No allocation, attach, detach or callback per packet.
///
/// Held slots (not yet released) are kept in submission order; reap() completes them from the
/// oldest while they are released, so a PMD that frees out of order delays the younger ones
/// until the older are freed (every PMD in DPDK frees a queue's mbufs in order). An orphan
/// (below), whose packet already completed, holds no one up: reap() moves it to the back.
///
/// Orphaning (reset, halt, destruction): a slot still held by someone else (a net_ring
/// consumer that has not freed it) gets a copy of its frame in its own data room and is
/// pointed there, so its packet can complete and be reused while the holder still reads a
/// valid frame. A holder that had already loaded the old address would go on reading the
/// protocol's memory, which is why the miniport first waits while holders keep freeing
/// (DpdkMiniport::await_holders) and orphans only what a stalled one holds. No segment is longer than the data room (the miniport splits longer
/// buffers into pieces), so every held frame can be copied. A pool whose slots are still held
/// when the MbufSlots goes is left allocated (the holder's free still writes to it).
///
/// Chains: a multi-buffer packet, or a buffer longer than the data room, takes one slot per
/// segment or piece (a software 802.1Q header and zero padding are written into a slot's own
/// room); it completes when every segment is released. A free clears the mbufs' own chain
/// links, so each slot also keeps its successor in its private area (link()).
///
/// Frames (create_frames): mbufs whose own data room is lent to the protocol to build a frame
/// in, once, and resend it. Such a packet goes as the frame's mbuf itself: nothing is pointed,
/// and the mbuf is a plain direct one, so the PMD's free is DPDK's shortest (no detach of an
/// external buffer: on net_null that was a sixth of pkio-gen's time), and a consumer may clone
/// it (DPDK finds a direct mbuf from its buffer address, which is why only the mbuf's own room
/// can be sent this way). Released like a slot; a frame still held when it is wanted again
/// is sent through a slot pointed at it. Each room is twice the frame: at an orphaning the
/// frame is copied into the second half and the holder moved there by the data offset alone.
/// The objects lie a power of two apart in one memzone, so FrameFinder::frame_of() finds a
/// frame's mbuf by address arithmetic, reading nothing else.
///
/// Threading: the miniport's worker only; the holder's free may run on any thread (the
/// release mark or count is atomic and read with acquire order).
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <pkio/dpdk/miniport.h>
#include <pkio/packet.h>

namespace pkio::dpdk {

/// What finds, lends and checks frames and slots, as a value. A send loop works on a copy
/// (MbufSlots::frame_finder()), which stays in registers: members read through the MbufSlots
/// would be read again after every store through an mbuf pointer, which the compiler must
/// assume may alias them.
struct FrameFinder {
  uintptr_t first = 0;          ///< the first frame's address
  uintptr_t span = 0;           ///< bytes from it to the last frame's (0: no frames)
  uintptr_t mask = 0;           ///< the frames' distance (a power of two) less one
  uint32_t header = 0;          ///< the mbuf header and private area before each frame
  uint32_t capacity = 0;        ///< the longest frame
  uint64_t lent_rearm = 0;      ///< rte_mbuf::rearm_data of a lent slot or frame
  uint16_t released_count = 0;  ///< the reference count of a slot or frame no one holds

  /// True once no one but the miniport holds `m` (see MbufSlots::released).
  [[nodiscard]] bool released(const rte_mbuf* m) const noexcept {
    return __atomic_load_n(&m->refcnt, __ATOMIC_ACQUIRE) == released_count;
  }
  /// The frame mbuf whose frame starts at `address`, if it can carry `length` bytes and is
  /// not held (by a PMD or a consumer); else null. Reads nothing but the mbuf's count.
  [[nodiscard]] rte_mbuf* frame_of(const void* address, uint32_t length) const noexcept {
    const uintptr_t offset = reinterpret_cast<uintptr_t>(address) - first;
    if (offset >= span || (offset & mask) != 0 || length > capacity) return nullptr;
    auto* m = reinterpret_cast<rte_mbuf*>(reinterpret_cast<uintptr_t>(address) - header);
    return released(m) ? m : nullptr;
  }
  /// Lends a frame mbuf (from frame_of) to the PMD with `length` bytes: three stores. The
  /// buffer ends with the frame (no tailroom into the protocol's memory), and an orphan's
  /// wider buffer and offset are undone here, not when its entry is reaped (which may come
  /// after the frame was lent again).
  void lend_frame(rte_mbuf* m, uint32_t length) const noexcept {
    std::memcpy(&m->rearm_data, &lent_rearm, sizeof lent_rearm);  // data_off 0
    const uint64_t lengths = length | uint64_t{length} << 32;  // pkt_len, data_len, vlan_tci 0
    std::memcpy(&m->pkt_len, &lengths, sizeof lengths);
    m->buf_len = static_cast<uint16_t>(length);
  }
};

/// How a slot's release by the PMD is seen; see the file comment.
enum class ReleaseSignal {
  reference_count,  ///< the PMD's free drops a count of 2 back to 1 (a locked decrement)
  pool_return,      ///< the slot pool's driver marks a freed slot (count 0); no locked op
};

/// The name of the mempool driver that marks freed slots released (ReleaseSignal::pool_return).
inline constexpr const char* slot_pool_ops_name = "pkio_slots";

/// Reads every cache line of [at, at + bytes) into `sum`, so that a first send finds them in
/// cache (warm_up, warm_packets); the caller keeps `sum` alive so the loads stay.
inline void read_cache_lines(const void* at, size_t bytes, uint64_t& sum) noexcept {
  const auto* line = reinterpret_cast<const volatile uint8_t*>(reinterpret_cast<uintptr_t>(at) &
                                                                ~uintptr_t{RTE_CACHE_LINE_SIZE - 1});
  const auto* end = static_cast<const volatile uint8_t*>(at) + bytes;
  for (; line < end; line += RTE_CACHE_LINE_SIZE) sum += *line;
}

/// A miniport's pool of persistent zero-copy mbufs; see the file comment.
class MbufSlots {
 public:
  MbufSlots() = default;
  MbufSlots(const MbufSlots&) = delete;
  MbufSlots& operator=(const MbufSlots&) = delete;
  /// Orphans what is still held and frees the slot pool (unless a holder still has slots).
  ~MbufSlots();

  /// Makes `count` slots (count 0: none) in a pool of their own, with the data room and NUMA
  /// node of `like` (the port's pool). `signal`: pool_return falls back to reference_count if
  /// the slot pool driver could not be registered.
  /// Fails with a one-line reason if the pool cannot be made.
  [[nodiscard]] Result<void> create(rte_mempool* like, uint32_t count,
                                    ReleaseSignal signal = ReleaseSignal::reference_count);

  /// Makes `count` frames of up to `largest` bytes in mbufs of their own (see the file
  /// comment: Frames), in address order. Once, after create(). Fails with a one-line reason
  /// if they cannot be made (the caller can keep frames of its own).
  [[nodiscard]] Result<std::vector<FrameMemory>> create_frames(uint32_t count, uint32_t largest);

  /// Finds and lends frames (FrameFinder::frame_of, lend_frame), as a value for a loop over a
  /// burst.
  [[nodiscard]] FrameFinder frame_finder() const noexcept { return finder_; }
  /// The same, without a copy (the caller copies what it keeps in registers).
  [[nodiscard]] const FrameFinder& finder() const noexcept { return finder_; }

  /// True for a frame mbuf (create_frames), false for a slot.
  [[nodiscard]] bool is_frame(const rte_mbuf* m) const noexcept { return m->pool == frames_pool_; }

  /// Frames not held by a PMD or consumer (all of them at rest). Walks them: for tests.
  [[nodiscard]] uint32_t frames_spare() const noexcept;
  /// Frames made by create_frames.
  [[nodiscard]] uint32_t frames() const noexcept { return frame_count_; }

  /// How releases are seen (create() may have fallen back to reference_count).
  [[nodiscard]] ReleaseSignal signal() const noexcept { return signal_; }

  /// The longest frame a slot takes.
  [[nodiscard]] uint32_t frame_room() const noexcept { return frame_room_; }

  /// Reads the `n` slots the next sends take (mbuf, private area, the start of the own room),
  /// so that the first of them finds those lines in cache. Nothing is written.
  void warm(uint32_t n) const noexcept;
  /// Takes up to `n` spare slots into `out` (the caller points them with point() and gives
  /// back the ones it does not send). Returns how many it took. In bulk, so the spare count
  /// is not a memory round trip per packet.
  [[nodiscard]] uint32_t take(rte_mbuf** out, uint32_t n) noexcept {
    const uint32_t k = n < spare_count_ ? n : spare_count_;
    spare_count_ -= k;
    for (uint32_t i = 0; i < k; ++i) out[i] = spare_[spare_count_ + i];
    return k;
  }

  /// Points a taken slot at [address, address + length) and marks it lent to the PMD.
  void point(rte_mbuf* m, void* address, uint64_t iova, uint32_t length) const noexcept {
    // Four stores instead of seven (a send is bound by stores): the address pair, the rearm
    // word (data_off 0, refcnt, nb_segs 1, port), the lengths with vlan_tci 0, buf_len.
    // ol_flags stays RTE_MBUF_F_EXTERNAL (put_back clears any offload flag).
    struct AddressPair {
      void* address;
      uint64_t iova;
    } pair{address, iova};
    static_assert(offsetof(rte_mbuf, buf_iova) == offsetof(rte_mbuf, buf_addr) + 8);
    std::memcpy(&m->buf_addr, &pair, sizeof pair);
    // Every slot's port field is RTE_MBUF_PORT_INVALID (create()), so the word is fixed per
    // pool: no load of the mbuf before its stores.
    std::memcpy(&m->rearm_data, &finder_.lent_rearm, sizeof finder_.lent_rearm);
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

  /// The slot after `m` in its chain, or null: kept apart from m->next, which a free clears.
  /// Set it with m->next when building a chain of slots.
  [[nodiscard]] static rte_mbuf*& link(rte_mbuf* m) noexcept {
    return static_cast<SlotPrivate*>(rte_mbuf_to_priv(m))->link;
  }

  /// True once the holder has freed `m`.
  [[nodiscard]] bool released(const rte_mbuf* m) const noexcept {
    return finder_.released(m);
  }

  /// True once the holder has freed every segment of the chain of slots at `head`.
  [[nodiscard]] bool chain_released(rte_mbuf* head) const noexcept {
    for (rte_mbuf* m = head; m != nullptr; m = link(m))
      if (!released(m)) return false;
    return true;
  }

  /// A released (or never sent, `unsent`) chain of slots is spare again, segment by segment;
  /// a frame is its protocol's again (it never joins the spare slots).
  void put_back_chain(rte_mbuf* head, bool unsent) noexcept {
    if (is_frame(head)) {
      if (unsent) rte_mbuf_refcnt_set(head, finder_.released_count);
      return;
    }
    while (head != nullptr) {
      rte_mbuf* next = link(head);
      link(head) = nullptr;
      head->next = nullptr;
      head->nb_segs = 1;
      if (unsent) rte_mbuf_refcnt_set(head, finder_.released_count);
      put_back(&head, 1);
      head = next;
    }
  }

  /// As put_back(), for slots whose offload flags were never changed (no RTE_MBUF_F_TX_VLAN
  /// was set on them): the common send path, which then does not read each mbuf again.
  void put_back_unflagged(rte_mbuf* const* ms, uint32_t n) noexcept {
    for (uint32_t i = 0; i < n; ++i) spare_[spare_count_ + i] = ms[i];
    spare_count_ += n;
  }

  /// Single slots that are released (or taken and never pointed) are spare again.
  void put_back(rte_mbuf* const* ms, uint32_t n) noexcept {
    for (uint32_t i = 0; i < n; ++i) {
      rte_mbuf* m = ms[i];
      if (m->ol_flags != RTE_MBUF_F_EXTERNAL) [[unlikely]] m->ol_flags = RTE_MBUF_F_EXTERNAL;
      spare_[spare_count_ + i] = m;
    }
    spare_count_ += n;
  }

  /// The chain of slots at `m` is still held for `packet`: it completes through reap().
  void hold(rte_mbuf* m, Packet* packet) noexcept {
    held_[(held_head_ + held_count_++) & held_mask_] = Held{m, packet};
  }

  /// Completes held slots from the oldest while they are released: `complete(packet)` for
  /// each (packet null for an orphan, which is only made spare). Returns how many it freed.
  template <typename Complete>
  uint32_t reap(Complete&& complete) noexcept {
    uint32_t done = 0;
    for (uint32_t looked = 0, count = held_count_; held_count_ > 0 && looked < count; ++looked) {
      const Held h = held_[held_head_];
      if (!chain_released(h.mbuf)) {
        if (h.packet != nullptr) break;  // a packet's completion waits its turn
        // An orphan (its packet completed at a reset) holds no one up: to the back.
        held_head_ = (held_head_ + 1) & held_mask_;
        held_[(held_head_ + held_count_ - 1) & held_mask_] = h;
        continue;
      }
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

  /// Forgets every pool and slot without touching them (the EAL is ending and takes their
  /// memory with it): the destructor then does nothing.
  void abandon() noexcept;

  /// Slots held by a PMD or consumer.
  [[nodiscard]] uint32_t held() const noexcept { return held_count_; }
  /// Of them, those whose packet has not completed (orphans excluded). Walks them.
  [[nodiscard]] uint32_t held_for_packets() const noexcept {
    uint32_t n = 0;
    for (uint32_t i = 0; i < held_count_; ++i) n += held_[(held_head_ + i) & held_mask_].packet != nullptr;
    return n;
  }
  /// Slots ready to lend.
  [[nodiscard]] uint32_t spare() const noexcept { return spare_count_; }
  /// Slots in all.
  [[nodiscard]] uint32_t capacity() const noexcept { return capacity_; }

  /// What each slot keeps in its mbuf's private area.
  struct SlotPrivate {
    rte_mbuf_ext_shared_info info;  ///< of the (own-room) external buffer; its count stays 1
    rte_mbuf* link;                 ///< the next slot in a chain (see link())
  };

 private:
  struct Held {
    rte_mbuf* mbuf;
    Packet* packet;
  };
  void orphan(rte_mbuf* m) noexcept;
  void size_held(uint32_t count);

  rte_mempool* pool_ = nullptr;
  rte_mempool* frames_pool_ = nullptr;
  FrameFinder finder_;
  uint32_t frame_count_ = 0;
  int socket_ = 0;
  std::unique_ptr<rte_mbuf*[]> spare_;
  std::unique_ptr<Held[]> held_;
  ReleaseSignal signal_ = ReleaseSignal::reference_count;
  uint32_t spare_count_ = 0;
  uint32_t held_head_ = 0;
  uint32_t held_count_ = 0;
  uint32_t held_mask_ = 0;
  uint32_t capacity_ = 0;
  uint32_t frame_room_ = 0;
};

}  // namespace pkio::dpdk
