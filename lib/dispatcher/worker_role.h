/// @file
/// Who is in an adapter's worker role on this thread. Internal to the dispatcher.
#pragma once

#include <pkio/adapter.h>

namespace pkio {

/// A thread's identity, as cheap as it gets: the address of a thread-local. initial-exec, so
/// it is a plain %fs offset, not a __tls_get_addr call; constinit, so no call to a TLS
/// wrapper function precedes each use either. Holding an adapter's role (below) is what
/// makes a thread its worker (Adapter::on_worker).
extern constinit thread_local const char tls_thread_mark __attribute__((tls_model("initial-exec")));

/// The worker's role (the miniport, the queues, the pending list) is one thread's at a time:
/// the started worker, or on a run-to-completion adapter the thread sending or polling.
/// WorkerRole takes it for a scope, or finds another thread in it: a contract violation
/// (Violations::concurrent_use), and the caller must then refuse the call. The same thread may
/// take it again (a handler sending from inside a poll step). Without the verifier the check is
/// a relaxed load and store, which sees another thread only once it has stored its mark (two
/// threads entering in the same few instructions can both get in); with the verifier it is a
/// compare-and-swap, which two threads can never both win.
class WorkerRole {
 public:
  /// Takes the role if `needed` (else holds nothing and allows the call: a producer on an
  /// adapter with a worker thread).
  explicit WorkerRole(Adapter& adapter, bool needed = true) noexcept : adapter_(adapter) {
    if (!needed) [[unlikely]] {  // the common caller is the direct path, which needs it
      held_ = true;
      return;
    }
    const void* me = &tls_thread_mark;
    // Acquire: pairs with the release of the thread that had the role before us, so what it
    // wrote to the worker's state is visible here (a handover between threads, in turn).
    const void* inside = adapter.worker_user_.load(std::memory_order_acquire);
    if ((reinterpret_cast<uintptr_t>(inside) | reinterpret_cast<uintptr_t>(adapter.verifier_.get())) == 0) [[likely]] {
      adapter.worker_user_.store(me, std::memory_order_relaxed);  // free, and no verifier: one test
      held_ = owner_ = true;
      return;
    }
    if (inside == me) {
      held_ = true;  // nested: the outer scope gives the role back
      return;
    }
    if (inside != nullptr) return;
    if (adapter.verifier_ != nullptr) {
      if (!adapter.worker_user_.compare_exchange_strong(inside, me, std::memory_order_acquire)) return;
    } else {
      adapter.worker_user_.store(me, std::memory_order_relaxed);
    }
    held_ = owner_ = true;
  }
  ~WorkerRole() {
    if (owner_) adapter_.worker_user_.store(nullptr, std::memory_order_release);
  }
  WorkerRole(const WorkerRole&) = delete;
  WorkerRole& operator=(const WorkerRole&) = delete;
  /// True if this thread has the role (false: another thread is in it).
  explicit operator bool() const noexcept { return held_; }

 private:
  Adapter& adapter_;
  bool held_ = false;
  bool owner_ = false;
};

// Every miniport call and every step runs in the worker's role (WorkerRole), so holding it
// is being the worker: a send_complete from here completes in place. Inline: a deserialized
// miniport asks at every send_complete.
inline bool Adapter::on_worker() const noexcept {
  return worker_user_.load(std::memory_order_relaxed) == &tls_thread_mark;
}

/// Placed in each packet's status before send_packets: a serialized miniport that leaves it
/// there did not set a status.
inline constexpr auto status_unset = static_cast<Status>(0xFFFFFFFFu);

}  // namespace pkio
