#include "mbuf_slots.h"

#include <rte_errno.h>
#include <rte_log.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>

namespace pkio::dpdk {

namespace {

void keep_buffer(void*, void*) noexcept {}  // the buffer is the mbuf's own room: nothing to free

// The slot pool's mempool driver (ReleaseSignal::pool_return). A free is its only traffic:
// it marks each slot released with one release store (a slot has a single holder, so no
// read-modify-write is needed). It never gives objects out; create() takes them all by
// walking the pool, and counts every slot as in use (they are the miniport's).
int mark_released(rte_mempool*, void* const* objects, unsigned n) {
  for (unsigned i = 0; i < n; ++i)
    __atomic_store_n(&static_cast<rte_mbuf*>(objects[i])->refcnt, uint16_t{0}, __ATOMIC_RELEASE);
  return 0;
}
int give_nothing(rte_mempool*, void**, unsigned) { return -ENOBUFS; }
unsigned count_nothing(const rte_mempool*) { return 0; }
int no_state(rte_mempool*) { return 0; }
void no_state_to_free(rte_mempool*) {}

// Constant-initialized: DPDK's registration runs as a constructor, before dynamic init.
rte_mempool_ops slot_pool_ops = {.name = "pkio_slots",
                                 .alloc = no_state,
                                 .free = no_state_to_free,
                                 .enqueue = mark_released,
                                 .dequeue = give_nothing,
                                 .get_count = count_nothing};
RTE_MEMPOOL_REGISTER_OPS(slot_pool_ops);

void collect(rte_mempool*, void* out, void* object, unsigned index) {
  static_cast<rte_mbuf**>(out)[index] = static_cast<rte_mbuf*>(object);
}

}  // namespace

Status MbufSlots::create(rte_mempool* like, uint32_t count, std::string* error, ReleaseSignal signal) {
  static_assert(std::string_view{slot_pool_ops_name} == std::string_view{"pkio_slots"});
  if (count == 0) return Status::success;
  const uint32_t room = rte_pktmbuf_data_room_size(like);
  if (room < 64) {
    if (error) *error = "mbuf data room of " + std::to_string(room) + " bytes is too small for zero-copy slots";
    return Status::failure;
  }
  static std::atomic<unsigned> pools_made{0};  // names must be unique within the process
  const std::string name = "pkio_slots_" + std::to_string(pools_made++);
  const uint16_t priv = RTE_ALIGN(sizeof(SlotPrivate), RTE_MBUF_PRIV_ALIGN);
  auto fail = [&](const std::string& why) {
    if (error) *error = "cannot make " + std::to_string(count) + " zero-copy slots: " + why;
    if (pool_ != nullptr) rte_mempool_free(pool_);
    pool_ = nullptr;
    return Status::failure;
  };
  // No per-lcore cache: every free must reach the driver at once.
  pool_ = rte_mempool_create_empty(name.c_str(), count, sizeof(rte_mbuf) + priv + room, 0,
                                   sizeof(rte_pktmbuf_pool_private), like->socket_id, 0);
  if (pool_ == nullptr) return fail(rte_strerror(rte_errno));
  if (signal == ReleaseSignal::pool_return && rte_mempool_set_ops_byname(pool_, slot_pool_ops_name, nullptr) != 0)
    signal = ReleaseSignal::reference_count;  // DPDK's driver table was full
  if (signal == ReleaseSignal::reference_count &&
      rte_mempool_set_ops_byname(pool_, rte_mbuf_best_mempool_ops(), nullptr) != 0)
    return fail("no mempool driver");
  rte_pktmbuf_pool_private layout{};
  layout.mbuf_data_room_size = static_cast<uint16_t>(room);
  layout.mbuf_priv_size = priv;
  layout.flags = RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF;  // a free leaves a slot attached
  rte_pktmbuf_pool_init(pool_, &layout);
  if (rte_mempool_populate_default(pool_) < 0) return fail(rte_strerror(rte_errno));
  rte_mempool_obj_iter(pool_, rte_pktmbuf_init, nullptr);

  spare_ = std::make_unique<rte_mbuf*[]>(count);
  const uint32_t ring = std::bit_ceil(count);
  held_ = std::make_unique<Held[]>(ring);
  held_mask_ = ring - 1;
  rte_mempool_obj_iter(pool_, collect, spare_.get());
  signal_ = signal;
  released_count_ = signal == ReleaseSignal::pool_return ? 0 : 1;
  lent_rearm_ = uint64_t{released_count_ + 1u} << 16 | uint64_t{1} << 32 |
                uint64_t{RTE_MBUF_PORT_INVALID} << 48;  // data_off 0, refcnt, nb_segs 1, port
  for (uint32_t i = 0; i < count; ++i) {
    rte_mbuf* m = spare_[i];
    auto* slot = static_cast<SlotPrivate*>(rte_mbuf_to_priv(m));
    slot->info.free_cb = keep_buffer;
    slot->info.fcb_opaque = nullptr;
    rte_mbuf_ext_refcnt_set(&slot->info, 1);
    slot->link = nullptr;
    rte_pktmbuf_attach_extbuf(m, own_room(m), own_room_iova(m), static_cast<uint16_t>(room), &slot->info);
    m->port = RTE_MBUF_PORT_INVALID;  // as initialized; point() relies on it
    rte_mbuf_refcnt_set(m, released_count_);
  }
  spare_count_ = capacity_ = count;
  frame_room_ = room;
  return Status::success;
}

MbufSlots::~MbufSlots() {
  if (pool_ == nullptr) return;
  (void)orphan_held();
  if (held_count_ == 0) {
    rte_mempool_free(pool_);
    return;
  }
  // A holder (a ring consumer) still has slots and will free them into the pool later.
  RTE_LOG(WARNING, USER1, "pkio: %u zero-copy slots still held at teardown; pool %s stays allocated\n",
          held_count_, pool_->name);
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
    for (rte_mbuf* m = h.mbuf; m != nullptr; m = link(m)) orphan(m);
    h.packet = nullptr;
    ++orphaned;
  }
  return orphaned;
}

}  // namespace pkio::dpdk
