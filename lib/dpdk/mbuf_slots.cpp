#include "mbuf_slots.h"

#include <bit>
#include <cstring>

namespace pkio::dpdk {

namespace {

void keep_buffer(void*, void*) noexcept {}  // the buffer is the mbuf's own room: nothing to free


}  // namespace

Status MbufSlots::create(rte_mempool* pool, uint32_t count, std::string* error) {
  if (count == 0) return Status::success;
  const uint32_t room = rte_pktmbuf_data_room_size(pool);
  // The shared info of the (own-room) external buffer sits at the end of the room.
  const uint32_t info_at = (room - static_cast<uint32_t>(sizeof(rte_mbuf_ext_shared_info))) & ~7u;
  if (room < sizeof(rte_mbuf_ext_shared_info) + 64) {
    if (error) *error = "mbuf data room of " + std::to_string(room) + " bytes is too small for zero-copy slots";
    return Status::failure;
  }
  spare_ = std::make_unique<rte_mbuf*[]>(count);
  const uint32_t ring = std::bit_ceil(count);
  held_ = std::make_unique<Held[]>(ring);
  held_mask_ = ring - 1;
  if (rte_pktmbuf_alloc_bulk(pool, spare_.get(), count) != 0) {
    if (error)
      *error = "mbuf pool " + std::string(pool->name) + " cannot give " + std::to_string(count) +
               " zero-copy slots (" + std::to_string(rte_mempool_avail_count(pool)) + " free)";
    spare_.reset();
    return Status::failure;
  }
  for (uint32_t i = 0; i < count; ++i) {
    rte_mbuf* m = spare_[i];
    char* own = own_room(m);
    auto* info = reinterpret_cast<rte_mbuf_ext_shared_info*>(own + info_at);
    info->free_cb = keep_buffer;
    info->fcb_opaque = nullptr;
    rte_mbuf_ext_refcnt_set(info, 1);
    rte_pktmbuf_attach_extbuf(m, own, own_room_iova(m), static_cast<uint16_t>(info_at), info);
    m->port = RTE_MBUF_PORT_INVALID;  // as allocated; point() relies on it
  }
  spare_count_ = capacity_ = count;
  frame_room_ = info_at;
  return Status::success;
}

MbufSlots::~MbufSlots() {
  (void)orphan_held();
  for (uint32_t i = 0; i < held_count_; ++i) {
    // Drop our reference; the holder's free returns it to the pool (detaching the own-room
    // external buffer, whose shared info lives in the mbuf itself).
    rte_pktmbuf_free(held_[(held_head_ + i) & held_mask_].mbuf);
  }
  for (uint32_t i = 0; i < spare_count_; ++i) rte_pktmbuf_free(spare_[i]);
}

void MbufSlots::orphan(rte_mbuf* m) noexcept {
  char* own = own_room(m);
  if (m->buf_addr == own) return;
  // Copy first, then switch the pointers (each an aligned 8-byte store): a reader sees the
  // old buffer, still valid until the packet completes, or the identical copy. data_off
  // stays 0, so no torn address/offset pair exists.
  std::memcpy(own, rte_pktmbuf_mtod(m, const void*), m->data_len);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  rte_mbuf_iova_set(m, own_room_iova(m));
  __atomic_store_n(&m->buf_addr, static_cast<void*>(own), __ATOMIC_RELEASE);
}

uint32_t MbufSlots::orphan_held() noexcept {
  // Freed meanwhile: nothing to copy. Their packets are the caller's to complete, and count.
  uint32_t orphaned = 0;
  (void)reap([&orphaned](Packet*) { ++orphaned; });
  for (uint32_t i = 0; i < held_count_; ++i) {
    Held& h = held_[(held_head_ + i) & held_mask_];
    if (h.packet == nullptr) continue;
    for (rte_mbuf* m = h.mbuf; m != nullptr; m = m->next) orphan(m);
    h.packet = nullptr;
    ++orphaned;
  }
  return orphaned;
}

}  // namespace pkio::dpdk
