#include <pkio/detail/submission_queue.h>

#include <rte_ring.h>

#include <cstdlib>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
#endif

namespace pkio {

namespace {

// ThreadSanitizer cannot follow the ring's hand-over: a producer waits for the one before it
// with a relaxed load (right on x86 and in DPDK's memory model, not in C11's), and the
// head/tail-sync mode mixes 4- and 8-byte atomics on one word, which TSan keeps apart. So
// under TSan the ring's own accesses go unchecked and the hand-over it makes is stated
// instead: a release before each enqueue, an acquire after each dequeue. TSan then still
// checks every access to the packets on either side. Nothing of this is compiled otherwise.
#if defined(__SANITIZE_THREAD__)
struct RingUnchecked {
  RingUnchecked() noexcept { __tsan_ignore_thread_begin(); }
  ~RingUnchecked() { __tsan_ignore_thread_end(); }
};
void before_enqueue(rte_ring* ring) noexcept { __tsan_release(ring); }
void after_dequeue(rte_ring* ring) noexcept { __tsan_acquire(ring); }
#else
struct RingUnchecked {};
void before_enqueue(rte_ring*) noexcept {}
void after_dequeue(rte_ring*) noexcept {}
#endif

}  // namespace

void SubmissionQueue::RingMemory::operator()(rte_ring* ring) const noexcept { std::free(ring); }

SubmissionQueue::SubmissionQueue() {
  const ssize_t bytes = rte_ring_get_memsize(ring_slots);
  if (bytes <= 0) return;
  const auto rounded = (static_cast<std::size_t>(bytes) + 63) / 64 * 64;
  ring_.reset(static_cast<rte_ring*>(std::aligned_alloc(64, rounded)));
  // Not registered with the EAL (rte_ring_create would need it): the adapter owns it.
  if (ring_ && rte_ring_init(ring_.get(), "pkio_submissions", ring_slots, RING_F_SC_DEQ) != 0) ring_.reset();
}

SubmissionQueue::~SubmissionQueue() = default;

void SubmissionQueue::push(Packet* const* packets, uint32_t n) noexcept {
  uint32_t done = 0;
  // Acquire: pairs with the consumer's release when it staged this thread's last overflow
  // packet, so a ring packet sent now is taken after it (see the file comment).
  if (overflow_count_.load(std::memory_order_acquire) == 0) {
    before_enqueue(ring_.get());
    [[maybe_unused]] const RingUnchecked unchecked;
    done = rte_ring_mp_enqueue_burst(ring_.get(), reinterpret_cast<void* const*>(packets), n, nullptr);
  }
  if (done < n) [[unlikely]]
    push_overflow(packets + done, n - done);
}

void SubmissionQueue::push_overflow(Packet* const* packets, uint32_t n) noexcept {
  for (uint32_t i = 0; i + 1 < n; ++i)
    packets[i]->tracking.next.store(packets[i + 1], std::memory_order_relaxed);
  // Raised before the push: until the consumer has staged these, this thread (and any other)
  // keeps off the ring.
  overflow_count_.fetch_add(n, std::memory_order_acq_rel);
  overflow_.push_chain(packets[0], packets[n - 1]);
}

uint32_t SubmissionQueue::pop_ring(Packet** out, uint32_t max) noexcept {
  uint32_t taken;
  {
    [[maybe_unused]] const RingUnchecked unchecked;
    taken = rte_ring_sc_dequeue_burst(ring_.get(), reinterpret_cast<void**>(out), max, nullptr);
  }
  after_dequeue(ring_.get());
  return taken;
}

void SubmissionQueue::stage_ring() noexcept {
  Packet* got[256];
  for (uint32_t taken = 0; taken < ring_slots;) {
    const uint32_t k = pop_ring(got, 256);
    for (uint32_t i = 0; i < k; ++i) staged_.push_back(got[i]);
    taken += k;
    if (k < 256) break;
  }
}

uint32_t SubmissionQueue::pop_staged(Packet** out, uint32_t max) noexcept {
  // One pass over what has overflowed so far, so that producers that never pause cannot keep
  // the consumer here.
  for (uint64_t left = overflow_count_.load(std::memory_order_acquire); left > 0; --left) {
    Packet* p = overflow_.pop();  // acquire: what its thread put in the ring before is visible
    stage_ring();                 // ring packets first: they can be older, never newer
    if (p == nullptr) break;      // a push half done: picked up on a later call
    staged_.push_back(p);
    overflow_count_.fetch_sub(1, std::memory_order_acq_rel);  // after staging: see push()
  }
  uint32_t k = 0;
  while (k < max) {
    Packet* p = staged_.pop_front();
    if (p == nullptr) break;
    out[k++] = p;
  }
  // Once the staged packets are out, ring packets may follow: a thread's ring packets are
  // never newer than its packets still in the overflow.
  if (k < max) k += pop_ring(out + k, max - k);
  return k;
}

}  // namespace pkio
