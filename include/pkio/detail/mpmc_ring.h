/// @file
/// MpmcRing: a bounded lock-free multi-producer multi-consumer FIFO of small values.
///
/// Algorithm (D. Vyukov's bounded MPMC queue): a power-of-two array of cells, each with a
/// sequence number. Cell i starts with sequence i. A producer that reserved position p (CAS on
/// enqueue_pos_) may write cell p % n when its sequence equals p, then publishes it by storing
/// p + 1. A consumer at position p may read the cell when its sequence equals p + 1, and frees
/// it for the next lap by storing p + n. Positions only grow, so there is no ABA problem.
///
/// Guarantees: FIFO per producer; try_push fails at once when full and try_pop when empty
/// (never blocks); no allocation after construction. Caveat of the algorithm: while another
/// thread is between claiming a cell and releasing it, try_push may see that cell as full (and
/// try_pop as empty). A caller that knows there is room (a pool returning its own index) uses
/// push_known_room(), which retries over that short window.
/// The sequence store-release in try_push pairs with the load-acquire in try_pop (and the
/// other way round for reuse), so a consumer sees the value the producer wrote.
///
/// Used by the packet and buffer pools (free lists of indices). Storage is allocated once,
/// by the constructor, on the control path.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace pkio {

/// The size of a cache line on the targets pkio supports (x86-64, arm64).
inline constexpr std::size_t cache_line_size = 64;

/// Bounded lock-free MPMC FIFO of trivially copyable values; see the file comment.
template <typename T>
class MpmcRing {
  static_assert(std::is_trivially_copyable_v<T>, "MpmcRing holds plain values");

 public:
  /// A ring holding at least `min_capacity` values (rounded up to a power of two, at least 2).
  explicit MpmcRing(std::size_t min_capacity) {
    std::size_t n = 2;
    while (n < min_capacity) n <<= 1;
    mask_ = n - 1;
    cells_ = std::make_unique<Cell[]>(n);
    for (std::size_t i = 0; i < n; ++i) cells_[i].sequence.store(i, std::memory_order_relaxed);
  }

  MpmcRing(const MpmcRing&) = delete;
  MpmcRing& operator=(const MpmcRing&) = delete;

  /// Number of values the ring can hold.
  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

  /// Appends `value`; false if the ring is full. Safe from any number of threads.
  bool try_push(T value) noexcept {
    std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      // Acquire pairs with the consumer's release of this cell for the next lap.
      const std::size_t seq = cell.sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
      if (diff == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.value = value;
          cell.sequence.store(pos + 1, std::memory_order_release);  // publish to try_pop
          return true;
        }
      } else if (diff < 0) {
        return false;  // the cell still holds a value from the previous lap: full
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
  }

  /// Appends `value` into a ring known to have room (it holds fewer values than its capacity
  /// counting this one): retries only while another thread finishes with the cell.
  void push_known_room(T value) noexcept {
    while (!try_push(value)) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
  }

  /// Removes the oldest value into `out`; false if the ring is empty. Safe from any thread.
  bool try_pop(T& out) noexcept {
    std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      // Acquire pairs with the producer's release in try_push.
      const std::size_t seq = cell.sequence.load(std::memory_order_acquire);
      const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos + 1);
      if (diff == 0) {
        if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          out = cell.value;
          cell.sequence.store(pos + mask_ + 1, std::memory_order_release);  // free for next lap
          return true;
        }
      } else if (diff < 0) {
        return false;  // empty
      } else {
        pos = dequeue_pos_.load(std::memory_order_relaxed);
      }
    }
  }

  /// Approximate number of values held (exact when no thread is pushing or popping).
  [[nodiscard]] std::size_t size_approx() const noexcept {
    const std::size_t head = dequeue_pos_.load(std::memory_order_relaxed);
    const std::size_t tail = enqueue_pos_.load(std::memory_order_relaxed);
    return tail >= head ? tail - head : 0;
  }

 private:
  struct Cell {
    std::atomic<std::size_t> sequence{0};
    T value{};
  };

  std::unique_ptr<Cell[]> cells_;
  std::size_t mask_ = 0;
  alignas(cache_line_size) std::atomic<std::size_t> enqueue_pos_{0};
  alignas(cache_line_size) std::atomic<std::size_t> dequeue_pos_{0};
};

}  // namespace pkio
