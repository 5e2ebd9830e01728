#include "mbuf_slots.h"

#include <rte_errno.h>
#include <rte_log.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_memzone.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <algorithm>
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

void free_zone(rte_mempool_memhdr*, void* zone) { rte_memzone_free(static_cast<const rte_memzone*>(zone)); }

/// Populates `pool` with objects exactly `stride` bytes apart (a power of two) in one memzone
/// aligned to the page: no object then straddles a page, so none is skipped.
int populate_evenly(rte_mempool* pool, const std::string& name, uint32_t count, uint32_t stride, int socket) {
  const size_t align = std::max<size_t>(stride, static_cast<size_t>(getpagesize()));
  const size_t length = size_t{count} * stride;
  const rte_memzone* zone = rte_memzone_reserve_aligned(name.c_str(), length, socket, RTE_MEMZONE_IOVA_CONTIG, align);
  if (zone == nullptr) zone = rte_memzone_reserve_aligned(name.c_str(), length, socket, 0, align);
  if (zone == nullptr) return -rte_errno;
  const int made = rte_mempool_populate_iova(pool, static_cast<char*>(zone->addr), zone->iova, zone->len, free_zone,
                                             const_cast<rte_memzone*>(zone));
  if (made < 0) rte_memzone_free(zone);
  return made;
}

/// A pool of `count` mbufs with `priv` bytes of private area and `room` bytes of data room,
/// whose frees are only marked (`signal`, which falls back to reference_count if the
/// "pkio_slots" driver is not available); `stride` (0: DPDK's layout) lays the objects out
/// evenly. Returns null with `why` on failure.
rte_mempool* make_slot_pool(const char* what, uint32_t count, uint16_t priv, uint32_t room, int socket,
                            unsigned mempool_flags, uint32_t pool_flags, uint32_t stride, ReleaseSignal& signal,
                            std::string& why) {
  static std::atomic<unsigned> pools_made{0};  // names must be unique within the process
  const std::string name = std::string("pkio_") + what + "_" + std::to_string(pools_made++);
  // No per-lcore cache: every free must reach the driver at once.
  rte_mempool* pool = rte_mempool_create_empty(name.c_str(), count, sizeof(rte_mbuf) + priv + room, 0,
                                               sizeof(rte_pktmbuf_pool_private), socket, mempool_flags);
  if (pool == nullptr) {
    why = rte_strerror(rte_errno);
    return nullptr;
  }
  if (signal == ReleaseSignal::pool_return && rte_mempool_set_ops_byname(pool, slot_pool_ops_name, nullptr) != 0)
    signal = ReleaseSignal::reference_count;  // DPDK's driver table was full
  if (signal == ReleaseSignal::reference_count &&
      rte_mempool_set_ops_byname(pool, rte_mbuf_best_mempool_ops(), nullptr) != 0) {
    why = "no mempool driver";
    rte_mempool_free(pool);
    return nullptr;
  }
  rte_pktmbuf_pool_private layout{};
  layout.mbuf_data_room_size = static_cast<uint16_t>(room);
  layout.mbuf_priv_size = priv;
  layout.flags = pool_flags;
  rte_pktmbuf_pool_init(pool, &layout);
  const int made = stride != 0 ? populate_evenly(pool, "z" + name, count, stride, socket)
                                : rte_mempool_populate_default(pool);
  if (made < 0 || pool->populated_size != count) {
    why = made < 0 ? rte_strerror(-made) : "the pool is short of objects";
    rte_mempool_free(pool);
    return nullptr;
  }
  rte_mempool_obj_iter(pool, rte_pktmbuf_init, nullptr);
  return pool;
}
}  // namespace

Result<void> MbufSlots::create(rte_mempool* like, uint32_t count, ReleaseSignal signal) {
  static_assert(std::string_view{slot_pool_ops_name} == std::string_view{"pkio_slots"});
  if (count == 0) return {};
  const uint32_t room = rte_pktmbuf_data_room_size(like);
  if (room < 64) {
    return failure_of(Status::failure, "mbuf data room of " + std::to_string(room) + " bytes is too small for zero-copy slots");
  }
  const uint16_t priv = RTE_ALIGN(sizeof(SlotPrivate), RTE_MBUF_PRIV_ALIGN);
  std::string why;
  // Pinned buffers: a free leaves a slot attached where it was pointed.
  pool_ = make_slot_pool("slots", count, priv, room, like->socket_id, 0, RTE_PKTMBUF_POOL_F_PINNED_EXT_BUF, 0, signal,
                         why);
  if (pool_ == nullptr) {
    return failure_of(Status::resources, "cannot make " + std::to_string(count) + " zero-copy slots: " + why);
  }
  socket_ = like->socket_id;
  spare_ = std::make_unique<rte_mbuf*[]>(count);
  size_held(count);
  rte_mempool_obj_iter(pool_, collect, spare_.get());
  signal_ = signal;
  finder_.released_count = signal == ReleaseSignal::pool_return ? 0 : 1;
  finder_.lent_rearm = uint64_t{finder_.released_count + 1u} << 16 | uint64_t{1} << 32 |
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
    rte_mbuf_refcnt_set(m, finder_.released_count);
  }
  spare_count_ = capacity_ = count;
  frame_room_ = room;
  return {};
}

void MbufSlots::warm(uint32_t n) const noexcept {
  uint64_t sum = 0;
  for (uint32_t i = spare_count_ > n ? spare_count_ - n : 0; i < spare_count_; ++i) {  // take() goes from the top
    // Every line from the mbuf to the first of its own room: header, private area, room.
    const char* mbuf = reinterpret_cast<const char*>(spare_[i]);
    read_cache_lines(mbuf, static_cast<size_t>(own_room(spare_[i]) - mbuf) + RTE_CACHE_LINE_SIZE, sum);
  }
  asm volatile("" : : "r"(sum));  // the loads are the point
}

void MbufSlots::size_held(uint32_t count) {
  // Room for every slot and frame to be held at once; what is held now keeps its order.
  const uint32_t ring = std::bit_ceil(count);
  auto held = std::make_unique<Held[]>(ring);
  for (uint32_t i = 0; i < held_count_; ++i) held[i] = held_[(held_head_ + i) & held_mask_];
  held_ = std::move(held);
  held_head_ = 0;
  held_mask_ = ring - 1;
}

Result<std::vector<FrameMemory>> MbufSlots::create_frames(uint32_t count, uint32_t largest) {
  auto fail = [&](const std::string& why) {
    return failure_of(Status::failure,
                      "cannot make " + std::to_string(count) + " frames of " + std::to_string(largest) + " bytes: " + why);
  };
  std::vector<FrameMemory> out;
  if (pool_ == nullptr) return fail("the miniport has no zero-copy slots (copy mode)");
  if (frames_pool_ != nullptr) return fail("the miniport already has frames");
  if (count == 0 || largest == 0 || largest > 16384) return fail("1 to 16384 bytes each, at least one");
  // Each frame's room holds the frame and, behind it, the room for its copy (orphan). The room
  // is padded so that objects lie a power of two apart: FrameFinder::frame_of() then needs no division.
  const uint32_t capacity = (largest + 63) / 64 * 64;
  const unsigned flags = RTE_MEMPOOL_F_NO_SPREAD;
  rte_mempool_objsz size{};
  const uint32_t header = sizeof(rte_mbuf) + RTE_ALIGN(sizeof(SlotPrivate), RTE_CACHE_LINE_SIZE);
  uint32_t room = 2 * capacity;
  const uint32_t stride = std::bit_ceil(rte_mempool_calc_obj_size(header + room, flags, &size));
  room += stride - size.total_size;
  if (rte_mempool_calc_obj_size(header + room, flags, &size) != stride || room > UINT16_MAX)
    return fail("no power-of-two object size");
  ReleaseSignal signal = signal_;
  std::string why;
  // A private area like the slots' (link() reads it), a cache line long: frames stay aligned.
  const uint16_t priv = RTE_ALIGN(sizeof(SlotPrivate), RTE_CACHE_LINE_SIZE);
  frames_pool_ = make_slot_pool("frames", count, priv, room, socket_, flags, 0, stride, signal, why);
  if (frames_pool_ == nullptr) return fail(why);
  std::vector<rte_mbuf*> frames(count);
  rte_mempool_obj_iter(frames_pool_, collect, frames.data());
  uintptr_t first = UINTPTR_MAX, last = 0;
  for (rte_mbuf* m : frames) {
    first = std::min(first, reinterpret_cast<uintptr_t>(m->buf_addr));
    last = std::max(last, reinterpret_cast<uintptr_t>(m->buf_addr));
  }
  // FrameFinder::frame_of() reads nothing to find a frame: the objects must lie in one run of memory.
  if (signal != signal_ || last - first != uint64_t{stride} * (count - 1)) {
    rte_mempool_free(frames_pool_);
    frames_pool_ = nullptr;
    return fail(signal != signal_ ? "mempool drivers differ" : "not in one piece of memory");
  }
  size_held(capacity_ + count);
  for (rte_mbuf* m : frames) static_cast<SlotPrivate*>(rte_mbuf_to_priv(m))->link = nullptr;
  finder_.header = header;
  finder_.first = first;
  finder_.span = last - first + 1;
  finder_.mask = stride - 1;
  finder_.capacity = capacity;
  frame_count_ = count;
  for (rte_mbuf* m : frames) {
    m->buf_len = static_cast<uint16_t>(capacity);  // lend_frame sets it to the frame's length
    m->port = RTE_MBUF_PORT_INVALID;
    rte_mbuf_refcnt_set(m, finder_.released_count);
    out.push_back(FrameMemory{static_cast<uint8_t*>(m->buf_addr), m->buf_iova});
  }
  std::sort(out.begin(), out.end(), [](const FrameMemory& a, const FrameMemory& b) { return a.address < b.address; });
  return out;
}

uint32_t MbufSlots::frames_spare() const noexcept {
  if (frames_pool_ == nullptr) return 0;
  uint32_t spare = 0;
  for (uint32_t k = 0; k < frame_count_; ++k) {
    const auto* m = reinterpret_cast<const rte_mbuf*>(finder_.first + uint64_t{k} * (finder_.mask + 1) - finder_.header);
    if (released(m)) ++spare;
  }
  return spare;
}

MbufSlots::~MbufSlots() {
  if (pool_ == nullptr) return;
  (void)orphan_held();
  if (held_count_ == 0) {
    rte_mempool_free(pool_);
    if (frames_pool_ != nullptr) rte_mempool_free(frames_pool_);
    return;
  }
  // A holder (a ring consumer) still has slots and will free them into the pool later.
  RTE_LOG(WARNING, USER1, "pkio: %u zero-copy slots still held at teardown; pool %s stays allocated\n",
          held_count_, pool_->name);
}

void MbufSlots::abandon() noexcept {
  pool_ = frames_pool_ = nullptr;
  held_count_ = spare_count_ = capacity_ = frame_count_ = 0;
  finder_ = FrameFinder{};
}

void MbufSlots::orphan(rte_mbuf* m) noexcept {
  if (is_frame(m)) {
    // A frame is the protocol's memory: the holder is moved to the copy room behind it, by
    // the data offset alone, so the mbuf stays direct and its own. Copy, then widen the
    // buffer, then move the offset: a reader sees the frame or its identical copy.
    if (m->data_off != 0) return;
    char* own = static_cast<char*>(m->buf_addr);
    std::memcpy(own + finder_.capacity, own, m->data_len);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&m->buf_len, static_cast<uint16_t>(finder_.capacity + m->data_len), __ATOMIC_RELEASE);
    __atomic_store_n(&m->data_off, static_cast<uint16_t>(finder_.capacity), __ATOMIC_RELEASE);
    return;
  }
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
