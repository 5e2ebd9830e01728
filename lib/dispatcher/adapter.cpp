#include <pkio/adapter.h>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>

#include "dispatcher/binding.h"
#include "dispatcher/packet_state.h"
#include <pkio/cycles.h>

namespace pkio {

namespace {

/// The adapter whose worker step is running on this thread, if any. initial-exec: read on
/// every completion, it must be a plain %fs load, not a __tls_get_addr call.
thread_local Adapter* tls_worker __attribute__((tls_model("initial-exec"))) = nullptr;

/// Placed in each packet's status before send_packets: a serialized miniport that leaves it
/// there did not set a status.
constexpr auto status_unset = static_cast<Status>(0xFFFFFFFFu);

struct WorkerScope {  // marks this thread as the adapter's worker for the scope
  explicit WorkerScope(Adapter* adapter) noexcept : previous(tls_worker) { tls_worker = adapter; }
  ~WorkerScope() { tls_worker = previous; }
  Adapter* previous;
};

/// A thread's identity, as cheap as it gets: the address of a thread-local.
thread_local const char tls_thread_mark __attribute__((tls_model("initial-exec"))) = 0;

}  // namespace

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
    if (!needed) {
      held_ = true;
      return;
    }
    const void* me = &tls_thread_mark;
    // Acquire: pairs with the release of the thread that had the role before us, so what it
    // wrote to the worker's state is visible here (a handover between threads, in turn).
    const void* inside = adapter.worker_user_.load(std::memory_order_acquire);
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

struct Adapter::ControlRequest {
  enum class Kind { query, reset, halt } kind;
  Oid oid{};
  void* buffer = nullptr;
  uint32_t length = 0;
  uint32_t* written = nullptr;
  uint32_t* needed = nullptr;
  Status result = Status::pending;
  std::atomic<bool> done{false};
};

// ---------------------------------------------------------------------------------------------
// Creation and worker control

Adapter::Adapter(const MiniportCharacteristics& miniport, void* context, const AdapterConfig& config)
    : miniport_(miniport), miniport_context_(context), config_(config),
      verifier_(config.verifier ? std::make_unique<Verifier>() : nullptr) {}

Result<std::unique_ptr<Adapter>> Adapter::create(const MiniportCharacteristics& miniport, void* context,
                                                 const AdapterConfig& config) {
  if (miniport.send_packets == nullptr && miniport.send == nullptr)
    return failure_of(Status::failure, "the miniport offers neither send_packets nor send");
  std::unique_ptr<Adapter> a(new Adapter(miniport, context, config));
  if (!a->submissions_.ready()) {
    a->halted_.store(true);  // the miniport never heard of it: nothing to halt
    return failure_of(Status::resources, "cannot allocate the adapter's submission ring");
  }
  // MiniportInitialize: from here on the miniport knows its adapter (no step to forget).
  if (miniport.initialize != nullptr) {
    const Status s = miniport.initialize(context, *a);
    if (s != Status::success) {
      a->halted_.store(true);
      return failure_of(s, "the miniport's initialize failed: " + std::string(to_string(s)));
    }
  }
  uint32_t value = 0, written = 0, needed = 0;
  uint32_t max_send = config.maximum_send_packets;
  if (max_send == 0) {
    max_send = 1;  // R15: 1 if the query fails
    if (miniport.query_information &&
        miniport.query_information(context, Oid::maximum_send_packets, &value, sizeof value,
                                   &written, &needed) == Status::success &&
        written == sizeof value && value > 0)
      max_send = value;
  }
  a->max_send_ = max_send > max_batch ? max_batch : max_send;
  a->max_total_size_ = config.default_maximum_total_size;
  if (miniport.query_information &&
      miniport.query_information(context, Oid::maximum_total_size, &value, sizeof value, &written,
                                 &needed) == Status::success &&
      written == sizeof value && value > 0)
    a->max_total_size_ = value;
  a->timeout_cycles_ = config.send_timeout_ns == 0
                           ? 0
                           : static_cast<uint64_t>(static_cast<double>(config.send_timeout_ns) *
                                                   static_cast<double>(cycles_per_second()) / 1e9);
  a->direct_poll_cycles_ = cycles_per_second() / 100'000;  // 10 us
  a->batch_sizes_ = std::make_unique<WorkerCounter[]>(a->max_send_ + 1);
  return a;
}

Adapter::~Adapter() { halt(); }

Result<void> Adapter::start_worker(int cpu) {
  if (config_.run_to_completion)
    return failure_of(Status::failure, "a run-to-completion adapter has no worker thread: its sender polls");
  if (worker_running_.load()) return failure_of(Status::failure, "the worker thread runs already");
  if (halting_.load()) return failure_of(Status::closing, "the adapter is halted");
  stop_worker_.store(false);
  worker_running_.store(true);
  worker_ = std::thread([this, cpu] {
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    while (!stop_worker_.load(std::memory_order_relaxed)) poll();
  });
  return {};
}

void Adapter::stop_worker() {
  if (!worker_running_.load()) return;
  stop_worker_.store(true);
  worker_.join();
  worker_running_.store(false);
}

bool Adapter::on_worker() const noexcept { return tls_worker == this; }

// ---------------------------------------------------------------------------------------------
// Protocol edge

struct AdapterAccess {
  static Status admit_state(const Adapter& a, const Binding& b) noexcept { return a.admit_state(b); }
  static Status admit_packet(const Adapter& a, Packet* p) noexcept { return a.admit_packet(p); }
  static void enqueue_here(Adapter& a, Packet* p) noexcept { a.enqueue_here(p); }
  static bool direct_ready(const Adapter& a) noexcept { return a.direct_ready(); }
  static uint32_t send_direct(Adapter& a, Binding& b, Packet* const* p, uint32_t n,
                              uint64_t now) noexcept {
    return a.send_direct(b, p, n, now);
  }
  static void poll_unless_polling(Adapter& a) noexcept {
    if (!a.in_poll_) a.poll();
  }
  /// After a direct send that took the whole array: a poll step only if it left something
  /// for one (completions to deliver, packets pending) or 10 us have passed since the last,
  /// so that arrays do not pay a whole step each (every 1 us cost pkio-gen about 5 % of its
  /// rate on net_null); links, reaping and timeouts still run at least every 10 us while the
  /// caller sends, and at every call while a packet is pending.
  static void poll_after_direct(Adapter& a, uint64_t now) noexcept {
    if (a.in_poll_) return;
    if (a.completed_.empty() && a.pending_head_ == nullptr && now < a.direct_poll_at_) return;
    a.direct_poll_at_ = now + a.direct_poll_cycles_;
    a.poll();
  }
  static void submit(Adapter& a, Packet* const* packets, uint32_t n) noexcept {
    a.submissions_.push(packets, n);
  }
  static void count_rejected_sync(Adapter& a) noexcept {
    a.rejected_sync_.fetch_add(1, std::memory_order_relaxed);
  }
  static void count_submitted(Adapter& a, uint64_t n) noexcept {
    a.submitted_.fetch_add(n, std::memory_order_relaxed);
  }
  static void count_rejected_entry(Adapter& a, const Packet* p) noexcept { a.reject_entry(p); }
  static void move_state(Adapter& a, Packet* p, PacketState to, std::memory_order order) noexcept {
    a.move_state(p, to, order);
  }
  static bool on_worker(const Adapter& a) noexcept { return a.on_worker(); }
  static bool in_poll(const Adapter& a) noexcept { return a.in_poll_; }
  static bool run_to_completion(const Adapter& a) noexcept { return a.config_.run_to_completion; }
  static bool worker_running(const Adapter& a) noexcept { return a.worker_running_.load(); }
  static bool halting(const Adapter& a) noexcept { return a.halting_.load(); }
  static void* context(const Adapter& a) noexcept { return a.miniport_context_; }
  static Status add_binding(Adapter& a, const ProtocolCharacteristics& protocol, void* context,
                            Binding*& out) {
    std::lock_guard lock(a.control_mutex_);
    if (a.halting_.load()) return Status::closing;
    for (uint32_t slot = 0; slot < max_bindings; ++slot) {
      if (a.bindings_[slot].load(std::memory_order_relaxed) != nullptr) continue;
      a.all_bindings_.push_back(std::make_unique<Binding>(a, protocol, context, slot));
      out = a.all_bindings_.back().get();
      a.bindings_[slot].store(out, std::memory_order_release);  // pairs with indicate_all
      return Status::success;
    }
    return Status::failure;  // max_bindings open at once
  }
  static void release_slot(Adapter& a, Binding& b) noexcept { a.release_slot(b); }
  static uint32_t poll_quietly(Adapter& a) noexcept { return a.poll_in_role(false); }
  static void count_concurrent_use(Adapter& a) noexcept { a.count_violation(&Violations::concurrent_use); }
  static uint32_t maximum_send_packets(const Adapter& a) noexcept { return a.max_send_; }
  static void complete(Adapter& a, Packet* p, Status s) noexcept {
    if (a.on_worker())
      a.complete_from_worker(p, s);
    else
      a.complete_from_remote(p, s);
  }
  static void resources_available(Adapter& a) noexcept {
    a.resources_signal_.store(true, std::memory_order_release);  // read by poll()
  }
  static void media(Adapter& a, MediaState state) noexcept {
    a.media_state_.store(state, std::memory_order_release);  // delivered by the worker
  }
};

Status Adapter::admit_state(const Binding& binding) const noexcept {
  if (binding.closing_.load(std::memory_order_relaxed) || halting_.load(std::memory_order_relaxed))
    return Status::closing;  // R11
  if (resetting_.load(std::memory_order_relaxed)) return Status::reset_in_progress;  // R12
  if (media_state_.load(std::memory_order_relaxed) != MediaState::connected)
    return Status::no_cable;  // R30
  return Status::success;
}

Status Adapter::admit_packet(Packet* p) const noexcept {
  PacketCounts counts;
  if (p->query(counts) != Status::success || counts.first_buffer == nullptr ||
      counts.total_length == 0 || counts.total_length > max_total_size_ || !p->ieee8021q.is_valid() ||
      !p->buffers_map_memory())
    return Status::invalid_packet;  // R10
  return Status::success;
}

void Adapter::enqueue_here(Packet* p) noexcept {
  if (p->tracking.state.load(std::memory_order_relaxed) == PacketState::completing)
    completed_.push_back(p);
  else
    queue_.push_back(p);
}

namespace {

/// Takes a packet from its protocol: it must be the protocol's (not free, not in flight).
bool take_ownership(Packet* p) noexcept {
  return p != nullptr && p->tracking.state.load(std::memory_order_acquire) == PacketState::protocol;
}

void stamp(Packet* p, Binding* b, Adapter* a, uint64_t now) noexcept {
  p->tracking.binding = b;
  p->tracking.adapter = a;
  p->tracking.submit_cycles = now;
}

}  // namespace

bool Adapter::direct_ready() const noexcept {
  // Anything queued (requeued after `resources`, or sent from a handler) goes first (R6);
  // a poll step in progress, a control request or a link change is left to poll().
  return !in_poll_ && queue_.empty() && !blocked_on_resources_ && miniport_.send_packets != nullptr &&
         !miniport_.deserialized && indicated_media_ == MediaState::connected &&
         mailbox_.load(std::memory_order_relaxed) == nullptr;
}

uint32_t Adapter::send_direct(Binding& binding, Packet* const* packets, uint32_t n,
                              uint64_t now) noexcept {
  // The queued path, fused for a run-to-completion caller: each chunk of the caller's array
  // is validated, handed to the miniport and its final statuses delivered at once, with the
  // counters and the latency histogram updated per chunk rather than per packet. Packets
  // the miniport leaves pending join the pending list as usual. Stops at the first
  // `resources`; what is left of the array then takes the queued path (R16, R6).
  in_poll_ = true;
  WorkerScope scope(this);
  binding.outstanding_.fetch_add(n, std::memory_order_acq_rel);  // before any can complete
  Verifier* const verifier = verifier_.get();  // read once (see move_state)
  uint32_t i = 0, accepted = 0, counted = 0;
  Packet* chunk_store[max_batch];
  Packet* done[max_batch];
  while (i < n && !blocked_on_resources_) {
    // While every entry goes to the miniport, the chunk is the caller's array itself
    // (`contiguous`): no copy. The first entry left out switches to chunk_store.
    const uint32_t first = i;
    bool contiguous = true;
    uint32_t k = 0;
    for (; i < n && k < max_send_; ++i) {
      Packet* p = packets[i];
      const bool taken = take_ownership(p);
      const Status s = !taken                     ? Status::failure
                       : miniport_.checks_packets ? Status::success
                                                  : admit_packet(p);  // R10
      if (s != Status::success && contiguous) [[unlikely]] {
        contiguous = false;
        std::copy_n(packets + first, k, chunk_store);
      }
      if (!taken) [[unlikely]] {
        reject_entry(p);
        continue;
      }
      // Stores are what a send is bound by: binding and adapter are written only when they
      // change (a generator resends the same packets), the submit time only for packets that
      // do not complete before send_packets returns (below).
      if (p->tracking.binding != &binding) p->tracking.binding = &binding;
      if (p->tracking.adapter != this) p->tracking.adapter = this;
      ++accepted;
      if (s != Status::success) [[unlikely]] {
        p->tracking.submit_cycles = now;
        p->tracking.final_status = s;
        move_state(verifier, p, PacketState::completing, std::memory_order_relaxed);
        completed_.push_back(p);
        continue;
      }
      move_state(verifier, p, PacketState::in_miniport, std::memory_order_relaxed);
      p->oob.status = status_unset;
      if (!contiguous) chunk_store[k] = p;
      ++k;
    }
    Packet* const* chunk = contiguous ? packets + first : chunk_store;
    // Counted before any of the chunk can complete, so that a live reader of the counters
    // never sees more completed than submitted.
    submitted_direct_.add(accepted - counted);
    counted = accepted;
    if (k == 0) break;
    batches_.add(1);
    batch_packets_.add(k);
    batch_sizes_[k].add(1);
    miniport_.send_packets(miniport_context_, chunk, k);
    uint32_t finished = 0, ok = 0;
    for (uint32_t j = 0; j < k; ++j) {
      Packet* p = chunk[j];
      const Status s = p->oob.status;
      if (p->tracking.state.load(std::memory_order_relaxed) != PacketState::in_miniport) {
        p->tracking.submit_cycles = now;  // completed inside the call; delivered by poll()
        if (s != Status::pending) count_violation(&Violations::unexpected_completion, p);  // R8
        continue;
      }
      if (s == Status::success) [[likely]] {
        ++ok;
        // Release: the protocol sees the miniport's writes. Before the handler call, so a
        // handler may send the packet again.
        move_state(verifier, p, PacketState::protocol, std::memory_order_release);
        done[finished++] = p;
        continue;
      }
      p->tracking.submit_cycles = now;
      if (s == Status::pending) {
        move_state(p, PacketState::pending, std::memory_order_relaxed);
        link_pending(p);
      } else if (s == Status::resources) {
        // The hang check times the queue's head (R23), latency the later completions.
        for (uint32_t r = j; r < k; ++r) chunk[r]->tracking.submit_cycles = now;
        requeue_from(chunk, j, k);
        break;
      } else if (s == status_unset) {
        count_violation(&Violations::status_unset, p);
        complete(p, Status::failure);
      } else {
        complete(p, s);  // a final error status; complete() checks it (R22)
      }
    }
    if (finished == 0) continue;
    completed_by_status_[status_index(Status::success)].add(ok);
    latency_.record(read_cycles() - now, finished);
    binding.protocol_.send_complete(binding.context_, done, finished);  // no lock held (R9)
    returned(binding, finished);
  }
  // Entries skipped as not the protocol's, and the part of the array not reached, were not
  // taken: give back their share of the count added above.
  if (accepted != n) returned(binding, n - accepted);
  in_poll_ = false;
  return i;
}

Status send(Binding* binding, Packet* packet) noexcept {
  if (binding == nullptr) return Status::failure;
  Adapter& a = binding->adapter_;
  const bool here = AdapterAccess::run_to_completion(a);
  const WorkerRole role(a, here);  // run-to-completion: this thread sends as the worker
  if (!role) [[unlikely]] {
    AdapterAccess::count_concurrent_use(a);
    AdapterAccess::count_rejected_entry(a, packet);
    AdapterAccess::count_rejected_sync(a);
    return Status::failure;
  }
  if (!take_ownership(packet)) {
    AdapterAccess::count_rejected_entry(a, packet);
    AdapterAccess::count_rejected_sync(a);
    return Status::failure;
  }
  Status s = AdapterAccess::admit_state(a, *binding);
  if (s == Status::success) s = AdapterAccess::admit_packet(a, packet);
  if (s != Status::success) {
    AdapterAccess::count_rejected_sync(a);
    return s;
  }
  stamp(packet, binding, &a, read_cycles());
  AdapterAccess::move_state(a, packet, PacketState::queued, std::memory_order_relaxed);
  binding->outstanding_.fetch_add(1, std::memory_order_acq_rel);
  AdapterAccess::count_submitted(a, 1);
  if (here) {
    AdapterAccess::enqueue_here(a, packet);
    AdapterAccess::poll_unless_polling(a);
  } else {
    AdapterAccess::submit(a, &packet, 1);
  }
  return Status::pending;
}

void send_packets(Binding* binding, Packet* const* packets, uint32_t n) noexcept {
  if (binding == nullptr || packets == nullptr || n == 0) return;  // R3
  Adapter& a = binding->adapter_;
  const bool here = AdapterAccess::run_to_completion(a);
  const WorkerRole role(a, here);  // run-to-completion: this thread sends as the worker
  if (!role) [[unlikely]] {  // another thread is inside this run-to-completion adapter
    AdapterAccess::count_concurrent_use(a);
    for (uint32_t i = 0; i < n; ++i) AdapterAccess::count_rejected_entry(a, packets[i]);
    return;
  }
  const uint64_t now = read_cycles();
  const Status state = AdapterAccess::admit_state(a, *binding);  // once per call, not per packet
  uint32_t i = 0;
  // Run-to-completion with nothing queued: an array that fits one miniport call goes to the
  // miniport directly. A longer one is claimed whole below before any of it is sent, so an
  // entry repeated in a later chunk still finds its packet the framework's, however early
  // the first one completes (R40: exactly once).
  if (here && state == Status::success && n <= AdapterAccess::maximum_send_packets(a) &&
      AdapterAccess::direct_ready(a)) {
    i = AdapterAccess::send_direct(a, *binding, packets, n, now);
    AdapterAccess::poll_after_direct(a, now);  // reap, link, timeouts
    return;
  }
  // Every entry is claimed before any is handed over: the worker may complete a packet of
  // this call while the rest are still being looked at, and an entry repeated later must find
  // it still the framework's. Up to 64 are kept in `run`; a longer array is linked through
  // tracking.next as it is claimed and handed over in runs afterwards.
  Packet* run[64];
  const bool chained = !here && n > std::size(run);
  Packet* chain_head = nullptr;
  Packet* chain_tail = nullptr;
  uint32_t accepted = 0;
  for (; i < n; ++i) {
    Packet* p = packets[i];
    if (!take_ownership(p)) [[unlikely]] {  // null, in flight, freed, or twice in this array
      AdapterAccess::count_rejected_entry(a, p);
      continue;
    }
    const Status s = state == Status::success ? AdapterAccess::admit_packet(a, p) : state;
    stamp(p, binding, &a, now);
    if (s == Status::success) [[likely]] {
      AdapterAccess::move_state(a, p, PacketState::queued, std::memory_order_relaxed);
    } else {
      // Fails now, completes through the worker like every other packet (R2).
      p->tracking.final_status = s;
      AdapterAccess::move_state(a, p, PacketState::completing, std::memory_order_relaxed);
    }
    if (here) {  // run-to-completion: straight into the worker's queue, no ring hop
      AdapterAccess::enqueue_here(a, p);
    } else if (!chained) {
      run[accepted] = p;
    } else {
      p->tracking.next.store(nullptr, std::memory_order_relaxed);
      if (chain_tail != nullptr) chain_tail->tracking.next.store(p, std::memory_order_relaxed);
      else chain_head = p;
      chain_tail = p;
    }
    ++accepted;
  }
  if (accepted == 0) {
    if (here) AdapterAccess::poll_after_direct(a, now);  // reap, link, timeouts
    return;
  }
  // Counted before the packets can complete, so in_flight never goes below zero.
  binding->outstanding_.fetch_add(accepted, std::memory_order_acq_rel);
  AdapterAccess::count_submitted(a, accepted);
  if (here) {
    AdapterAccess::poll_unless_polling(a);
  } else if (!chained) {
    AdapterAccess::submit(a, run, accepted);
  } else {
    uint32_t k = 0;
    for (Packet* p = chain_head; p != nullptr;) {
      Packet* next = p->tracking.next.load(std::memory_order_relaxed);  // before p is handed over
      run[k++] = p;
      if (k == std::size(run) || next == nullptr) {
        AdapterAccess::submit(a, run, k);
        k = 0;
      }
      p = next;
    }
  }
}

Result<Binding*> open_adapter(Adapter& adapter, const ProtocolCharacteristics& protocol, void* binding_context) {
  if (protocol.send_complete == nullptr) return failure_of(Status::failure, "the protocol has no send_complete handler");
  Binding* out = nullptr;
  const Status s = AdapterAccess::add_binding(adapter, protocol, binding_context, out);
  if (s == Status::closing) return failure_of(s, "the adapter is halted");
  if (s != Status::success)
    return failure_of(s, std::to_string(max_bindings) + " bindings are open on the adapter already");
  return out;
}

Status close_adapter(Binding* binding) {
  if (binding == nullptr) return Status::failure;
  // Sequentially consistent with the worker's last decrement of outstanding_ (returned()):
  // either this sees it at zero, or the worker sees closing_ set, so the slot is given back.
  binding->closing_.store(true);
  Adapter& a = binding->adapter_;
  if (binding->outstanding_.load() == 0) {
    AdapterAccess::release_slot(a, *binding);
    return Status::success;
  }
  // Inside a handler, waiting would deadlock: the binding closes as its packets complete.
  // in_poll_ is the worker's own flag: only the worker may read it (checked first).
  if (AdapterAccess::on_worker(a) && AdapterAccess::in_poll(a)) return Status::pending;
  const bool poll_here =
      AdapterAccess::run_to_completion(a) || !AdapterAccess::worker_running(a);
  while (binding->outstanding_.load(std::memory_order_acquire) != 0) {
    // A poll step only while no other thread is in the worker's role: the owner of a
    // run-to-completion adapter may still be sending, and completes the packets itself.
    if (!poll_here || AdapterAccess::poll_quietly(a) == 0) std::this_thread::yield();
  }
  AdapterAccess::release_slot(a, *binding);
  return Status::success;
}

Status query_information(Binding* binding, Oid oid, void* buffer, uint32_t length,
                         uint32_t* bytes_written, uint32_t* bytes_needed) {
  if (binding == nullptr || bytes_written == nullptr || bytes_needed == nullptr)
    return Status::failure;
  return binding->adapter_.query(oid, buffer, length, bytes_written, bytes_needed);
}

Adapter* binding_adapter(const Binding* binding) noexcept {
  return binding ? &binding->adapter_ : nullptr;
}

uint64_t binding_outstanding(const Binding* binding) noexcept {
  return binding ? binding->outstanding_.load(std::memory_order_acquire) : 0;
}

// ---------------------------------------------------------------------------------------------
// Miniport edge

void send_complete(Adapter& adapter, Packet* packet, Status status) noexcept {
  AdapterAccess::complete(adapter, packet, status);
}

void send_resources_available(Adapter& adapter) noexcept {
  AdapterAccess::resources_available(adapter);
}

void indicate_status(Adapter& adapter, Indication indication) noexcept {
  if (indication == Indication::media_connect)
    AdapterAccess::media(adapter, MediaState::connected);
  else if (indication == Indication::media_disconnect)
    AdapterAccess::media(adapter, MediaState::disconnected);
  // reset_start / reset_end come from the framework's own reset path, not from miniports.
}

uint64_t remove_miniport(Adapter& adapter) noexcept {
  const uint64_t in_flight = adapter.counters().in_flight;
  adapter.halt();
  return in_flight;
}

Adapter* submitted_to(const Packet* packet) noexcept {
  return packet ? static_cast<Adapter*>(packet->tracking.adapter) : nullptr;
}

void* miniport_context(const Adapter& adapter) noexcept { return AdapterAccess::context(adapter); }

Status answer_query(const void* value, uint32_t size, void* buffer, uint32_t length,
                    uint32_t* bytes_written, uint32_t* bytes_needed) noexcept {
  *bytes_written = 0;
  *bytes_needed = size;
  if (buffer == nullptr || length < size) return Status::invalid_length;
  std::memcpy(buffer, value, size);
  *bytes_written = size;
  return Status::success;
}

// ---------------------------------------------------------------------------------------------
// Worker

uint32_t Adapter::poll() noexcept { return poll_in_role(true); }

uint32_t Adapter::poll_in_role(bool count_busy) noexcept {
  const WorkerRole role(*this);
  if (!role) [[unlikely]] {  // another thread is in the worker's role: touch nothing
    if (count_busy) count_violation(&Violations::concurrent_use);
    return 0;
  }
  if (in_poll_) return 0;  // a handler's send reached us: the outer step carries on
  in_poll_ = true;
  WorkerScope scope(this);
  if (halted_.load(std::memory_order_relaxed)) [[unlikely]] {
    // The miniport may be gone: only what already completed (closing) is delivered.
    const uint32_t delivered = deliver();
    in_poll_ = false;
    return delivered;
  }

  if (ControlRequest* request = mailbox_.load(std::memory_order_acquire)) {
    mailbox_.store(nullptr, std::memory_order_relaxed);
    run_control(*request);
  }
  // Normally dispatch() takes submissions itself, each packet touched once while it is
  // fresh; while the miniport is blocked they are moved along here, so that a packet that
  // failed at submission still completes.
  if (blocked_on_resources_) drain_submissions();
  drain_remote_completions();
  if (resources_signal_.load(std::memory_order_relaxed) &&
      resources_signal_.exchange(false, std::memory_order_acquire))
    blocked_on_resources_ = false;
  deliver_indications();
  if (indicated_media_ != MediaState::connected) fail_queued(Status::no_cable);  // R30
  dispatch();
  if (miniport_.poll) miniport_.poll(miniport_context_);
  drain_remote_completions();
  if (timeout_cycles_ != 0 && (pending_head_ != nullptr || blocked_on_resources_)) check_timeouts();
  const uint32_t delivered = deliver();
  in_poll_ = false;
  return delivered;
}

void Adapter::drain_submissions() noexcept {
  if (config_.run_to_completion) return;
  Packet* got[64];
  while (const uint32_t n = submissions_.pop_burst(got, 64))
    for (uint32_t i = 0; i < n; ++i) enqueue_here(got[i]);  // failed ones to completed_
}

void Adapter::drain_remote_completions() noexcept {
  while (Packet* p = remote_completions_.pop()) {
    // The claim means "in this queue": released only here, once the packet is out of it, so a
    // packet is never linked into the intrusive queue twice whatever the completions do.
    const Status status = p->tracking.remote_status;
    p->tracking.remote_claim.store(false, std::memory_order_release);
    const PacketState s = p->tracking.state.load(std::memory_order_relaxed);
    if (s != PacketState::in_miniport && s != PacketState::pending) {
      count_violation(&Violations::unexpected_completion, p);
      continue;
    }
    complete(p, status);
  }
}

void Adapter::dispatch() noexcept {
  Packet* batch[max_batch];
  const bool serialized_array = miniport_.send_packets != nullptr && !miniport_.deserialized;
  // Bounded, so that producers that never pause cannot hold up the rest of the step.
  uint32_t from_submissions = config_.run_to_completion ? 0 : std::max(1024u, 4 * max_send_);
  while (!blocked_on_resources_) {
    Verifier* const verifier = verifier_.get();  // read once (see move_state)
    uint32_t n = 0;
    const auto hand_over = [&](Packet* p) noexcept {
      move_state(verifier, p, PacketState::in_miniport, std::memory_order_relaxed);
      p->oob.status = status_unset;
      // A serialized send_packets answers each packet before it returns: only those that
      // pend join the pending list, afterwards (post_process_serialized), as send_direct does.
      if (!serialized_array) link_pending(p);
      batch[n++] = p;
    };
    // Requeued packets first: they were submitted before anything still in submissions_.
    while (n < max_send_) {
      Packet* p = queue_.pop_front();
      if (p == nullptr) break;
      hand_over(p);
    }
    while (n < max_send_ && from_submissions > 0) {
      // Taken into the batch itself, then kept in place (n never passes i).
      const uint32_t taken = submissions_.pop_burst(batch + n, std::min(max_send_ - n, from_submissions));
      if (taken == 0) break;
      from_submissions -= std::min(taken, from_submissions);
      const uint32_t end = n + taken;
      for (uint32_t i = n; i < end; ++i) {
        Packet* p = batch[i];
        if (p->tracking.state.load(std::memory_order_relaxed) == PacketState::completing) [[unlikely]]
          completed_.push_back(p);  // failed at submission (R2, R10): it completes, in no queue
        else
          hand_over(p);
      }
    }
    if (n == 0) break;
    batches_.add(1);
    batch_packets_.add(n);
    batch_sizes_[n].add(1);
    if (miniport_.send_packets != nullptr) {
      miniport_.send_packets(miniport_context_, batch, n);
      if (miniport_.deserialized) {
        for (uint32_t i = 0; i < n; ++i) {
          Packet* p = batch[i];
          if (p->oob.status == Status::resources) count_violation(&Violations::deserialized_resources, p);
          if (p->tracking.state.load(std::memory_order_relaxed) == PacketState::in_miniport)
            move_state(p, PacketState::pending, std::memory_order_relaxed);
        }
      } else {
        post_process_serialized(batch, n);
      }
    } else {
      send_one_by_one(batch, n);
    }
  }
  deliver_finished();  // once per step, not per miniport call: small arrays stay cheap
}

void Adapter::post_process_serialized(Packet* const* batch, uint32_t n) noexcept {
  // Successes of a large array go back to their bindings at once, from this same pass, as
  // send_direct does (a second pass over them cost the cross-thread path about 10 % of its
  // worker's instructions). Those of small arrays are gathered for deliver_finished (at the
  // end of dispatch(), or once 64 have gathered), so that handler calls stay large.
  // Packets that pend are linked in hand-over order (R23's hang check).
  const bool at_once = n >= deliver_at_once_from;
  if (finished_count_ != 0 && (at_once || finished_count_ + n > finished_.size())) deliver_finished();
  Packet* done[max_batch];
  Packet** const out = at_once ? done : finished_.data();
  // Delivered now: straight to the protocol. Delivered later in this step: meanwhile, a
  // second completion (even from inside the next array's call) must find it no longer in
  // the miniport (R20), and a resubmission must find it not yet the protocol's.
  const PacketState finished_state = at_once ? PacketState::protocol : PacketState::completing;
  // Kept in registers across the loop: stores through packet pointers would otherwise make
  // the compiler reload both members at every packet. Nothing the loop calls reads them.
  Verifier* const verifier = verifier_.get();
  uint32_t finished = finished_count_;
  for (uint32_t i = 0; i < n; ++i) {
    Packet* p = batch[i];
    const Status s = p->oob.status;
    if (p->tracking.state.load(std::memory_order_relaxed) != PacketState::in_miniport) {
      // Completed inline before send_packets returned (R8): already on its way back. Only
      // pending may go with that; a final status as well would be a second completion.
      if (s != Status::pending) count_violation(&Violations::unexpected_completion, p);
      continue;
    }
    if (s == Status::success) [[likely]] {
      // Release: the protocol (and any thread it passes the packet to) sees our writes.
      move_state(verifier, p, finished_state, std::memory_order_release);
      out[finished++] = p;
    } else if (s == Status::pending) {
      move_state(p, PacketState::pending, std::memory_order_relaxed);
      link_pending(p);
    } else if (s == Status::resources) {
      // R16/R17: this packet and every later one still in the miniport go back to the head,
      // in order, until the next send_complete or send_resources_available.
      requeue_from(batch, i, n);
      break;
    } else if (s == status_unset) {
      count_violation(&Violations::status_unset, p);
      complete(p, Status::failure);
    } else {
      complete(p, s);
    }
  }
  if (at_once) {
    return_to_bindings(done, finished);
    return;
  }
  finished_count_ = finished;
  if (finished >= 64) deliver_finished();
}

void Adapter::deliver_finished() noexcept {
  const uint32_t n = finished_count_;
  if (n == 0) return;
  // Taken out first, so that nothing a handler sets off can change what is being delivered.
  Packet* done[max_batch];
  std::copy_n(finished_.data(), n, done);
  finished_count_ = 0;
  Verifier* const verifier = verifier_.get();  // read once (see move_state)
  for (uint32_t i = 0; i < n; ++i)  // release: see post_process_serialized
    move_state(verifier, done[i], PacketState::protocol, std::memory_order_release);
  return_to_bindings(done, n);
}

void Adapter::return_to_bindings(Packet* const* done, uint32_t n) noexcept {
  LatencyRuns latency(latency_, read_cycles());
  for (uint32_t i = 0; i < n;) {
    // A run of consecutive packets of one binding becomes one handler call, as in deliver().
    auto* binding = static_cast<Binding*>(done[i]->tracking.binding);
    uint32_t j = i;
    for (; j < n && done[j]->tracking.binding == binding; ++j) latency.add(done[j]->tracking.submit_cycles);
    latency.flush();  // counted before the protocol sees them (R40)
    completed_by_status_[status_index(Status::success)].add(j - i);
    binding->protocol_.send_complete(binding->context_, done + i, j - i);  // no lock held (R9)
    returned(*binding, j - i);  // after the handler: close waits for it
    i = j;
  }
}

void Adapter::requeue_from(Packet* const* batch, uint32_t from, uint32_t n) noexcept {
  Packet* back[max_batch];
  uint32_t k = 0;
  for (uint32_t j = from; j < n; ++j) {
    Packet* q = batch[j];
    // Completed inside the call (R8): already on its way back, not requeued.
    if (q->tracking.state.load(std::memory_order_relaxed) != PacketState::in_miniport) continue;
    unlink_pending(q);
    move_state(q, PacketState::queued, std::memory_order_relaxed);
    back[k++] = q;
  }
  queue_.push_front(back, k);
  requeued_.add(k);
  resources_events_.add(1);
  blocked_on_resources_ = true;
}

void Adapter::send_one_by_one(Packet* const* batch, uint32_t n) noexcept {
  for (uint32_t i = 0; i < n; ++i) {
    Packet* p = batch[i];
    const Status s = miniport_.send(miniport_context_, p, p->flags);
    if (p->tracking.state.load(std::memory_order_relaxed) != PacketState::in_miniport) continue;
    if (s == Status::pending) {
      move_state(p, PacketState::pending, std::memory_order_relaxed);
    } else if (s == Status::resources && !miniport_.deserialized) {  // R19
      requeue_from(batch, i, n);  // the later ones were never handed over: all in_miniport
      return;
    } else {
      complete(p, s);
    }
  }
}

void Adapter::complete(Packet* p, Status status) noexcept {
  if (!is_known(status) || !is_final_send_status(status)) {  // R22
    count_violation(&Violations::bad_final_status, p);
    status = Status::failure;
  }
  unlink_pending(p);
  p->tracking.final_status = status;
  move_state(p, PacketState::completing, std::memory_order_relaxed);
  completed_.push_back(p);
  blocked_on_resources_ = false;  // a send_complete also resumes requeued packets (R16)
}

void Adapter::complete_from_worker(Packet* p, Status status) noexcept {
  if (p == nullptr || p->tracking.adapter != this) {
    count_violation(&Violations::foreign_completion, p);
    return;
  }
  const PacketState s = p->tracking.state.load(std::memory_order_relaxed);
  if (s != PacketState::in_miniport && s != PacketState::pending) {
    count_violation(&Violations::unexpected_completion, p);  // R20
    return;
  }
  complete(p, status);
}

void Adapter::complete_from_remote(Packet* p, Status status) noexcept {
  if (p == nullptr || p->tracking.adapter != this) {
    count_violation(&Violations::foreign_completion, p);
    return;
  }
  // The exchange makes a second completion from any thread lose before it reaches the queue.
  if (p->tracking.remote_claim.exchange(true, std::memory_order_acq_rel)) {
    count_violation(&Violations::unexpected_completion, p);
    return;
  }
  p->tracking.remote_status = status;
  remote_completions_.push(p);  // the worker checks the state and completes (R8)
}

uint32_t Adapter::deliver() noexcept {
  if (completed_.empty()) return 0;
  LatencyRuns latency(latency_, read_cycles());
  uint32_t total = 0;
  Packet* run[64];
  while (!completed_.empty()) {
    // A run of consecutive completions of one binding becomes one handler call.
    Binding* binding = static_cast<Binding*>(completed_.front()->tracking.binding);
    uint32_t n = 0;
    while (n < 64 && !completed_.empty() &&
           completed_.front()->tracking.binding == binding) {
      Packet* p = completed_.pop_front();
      const Status s = p->tracking.final_status;
      p->oob.status = s;
      completed_by_status_[status_index(s)].add(1);
      latency.add(p->tracking.submit_cycles);
      // Release: the protocol (and any thread it passes the packet to) sees our writes.
      move_state(p, PacketState::protocol, std::memory_order_release);
      run[n++] = p;
    }
    latency.flush();  // counted before the protocol sees them (R40)
    total += n;
    binding->protocol_.send_complete(binding->context_, run, n);  // no lock held (R9)
    returned(*binding, n);  // after the handler: close waits for it
  }
  return total;
}

void Adapter::fail_queued(Status status) noexcept {
  drain_submissions();
  while (Packet* p = queue_.pop_front()) {
    // A packet R10 refuses fails as invalid_packet whichever way it went: one a checking
    // miniport never reached (requeued behind a `resources`) is checked here.
    p->tracking.final_status = admit_packet(p) == Status::success ? status : Status::invalid_packet;
    move_state(p, PacketState::completing, std::memory_order_relaxed);
    completed_.push_back(p);
  }
  blocked_on_resources_ = false;
}

void Adapter::force_complete_pending(Status status) noexcept {
  // complete() unlinks each; an invalid packet a deserialized miniport still held unchecked
  // fails as invalid_packet (R10), as in fail_queued.
  while (Packet* p = pending_head_)
    complete(p, admit_packet(p) == Status::success ? status : Status::invalid_packet);
}

void Adapter::link_pending(Packet* p) noexcept {
  p->tracking.pending_next = nullptr;
  p->tracking.pending_prev = pending_tail_;
  if (pending_tail_ != nullptr)
    pending_tail_->tracking.pending_next = p;
  else
    pending_head_ = p;
  pending_tail_ = p;
  ++pending_count_;
}

void Adapter::unlink_pending(Packet* p) noexcept {
  Packet* prev = p->tracking.pending_prev;
  Packet* next = p->tracking.pending_next;
  if (prev == nullptr && next == nullptr && pending_head_ != p) return;  // not linked
  if (prev != nullptr) prev->tracking.pending_next = next; else pending_head_ = next;
  if (next != nullptr) next->tracking.pending_prev = prev; else pending_tail_ = prev;
  p->tracking.pending_prev = p->tracking.pending_next = nullptr;
  --pending_count_;
}

void Adapter::check_timeouts() noexcept {
  // The pending list is in hand-over order, so its head is the oldest packet in the miniport;
  // a queue blocked on `resources` (a device that never takes anything) times out the same way.
  const uint64_t now = read_cycles();
  const bool pending_late =
      pending_head_ != nullptr && now - pending_head_->tracking.submit_cycles > timeout_cycles_;
  const bool queue_late = blocked_on_resources_ && !queue_.empty() &&
                          now - queue_.front()->tracking.submit_cycles > timeout_cycles_;
  if (!pending_late && !queue_late) return;
  count_violation(&Violations::hangs, pending_late ? pending_head_ : queue_.front());
  do_reset();  // R23: a hang goes through the reset path; nothing pends forever
}

void Adapter::deliver_indications() noexcept {
  const MediaState now = media_state_.load(std::memory_order_acquire);
  if (now == indicated_media_ || halting_.load(std::memory_order_relaxed)) return;
  indicated_media_ = now;  // R29: only real changes reach the bindings
  indicate_all(now == MediaState::connected ? Indication::media_connect
                                            : Indication::media_disconnect);
}

void Adapter::indicate_all(Indication indication) noexcept {
  for (auto& slot : bindings_) {
    Binding* b = slot.load(std::memory_order_acquire);  // pairs with add_binding
    if (b != nullptr && b->protocol_.status != nullptr && !b->closing_.load(std::memory_order_relaxed))
      b->protocol_.status(b->context_, indication);
  }
}

// ---------------------------------------------------------------------------------------------
// Control path: reset, halt, requests

Status Adapter::do_reset() noexcept {
  resetting_.store(true, std::memory_order_release);
  resets_.add(1);
  indicate_all(Indication::reset_start);
  fail_queued(Status::reset_in_progress);
  if (miniport_.reset != nullptr) (void)miniport_.reset(miniport_context_);
  drain_remote_completions();
  // R12: what the miniport did not complete during its reset completes now, exactly once.
  force_complete_pending(miniport_.deserialized ? Status::request_aborted
                                                : Status::reset_in_progress);
  deliver();
  resetting_.store(false, std::memory_order_release);
  indicate_all(Indication::reset_end);
  return Status::success;
}

void Adapter::do_halt() noexcept {
  fail_queued(Status::adapter_removed);
  if (miniport_.halt != nullptr) miniport_.halt(miniport_context_);
  drain_remote_completions();
  force_complete_pending(Status::request_aborted);
  deliver();
}

void Adapter::run_control(ControlRequest& request) noexcept {
  switch (request.kind) {
    case ControlRequest::Kind::query:
      request.result = do_query(request.oid, request.buffer, request.length, request.written,
                                request.needed);
      break;
    case ControlRequest::Kind::reset:
      request.result = do_reset();
      break;
    case ControlRequest::Kind::halt:
      do_halt();
      request.result = Status::success;
      break;
  }
  request.done.store(true, std::memory_order_release);  // pairs with run_on_worker's wait
}

Status Adapter::run_on_worker(ControlRequest& request) {
  std::lock_guard lock(control_mutex_);  // R28: one request at a time
  if (worker_running_.load() && !on_worker()) {
    mailbox_.store(&request, std::memory_order_release);  // pairs with poll()'s acquire
    while (!request.done.load(std::memory_order_acquire)) std::this_thread::yield();
    return request.result;
  }
  // We are the worker (run-to-completion, or inside a handler), or no worker runs: the
  // request runs here, in the worker's role. A halt waits for a thread still in it to leave
  // (sends meanwhile get closing); anything else is refused rather than raced.
  for (;;) {
    const WorkerRole role(*this);
    if (role) {
      const bool was_in_poll = in_poll_;
      WorkerScope scope(this);
      in_poll_ = true;
      run_control(request);
      in_poll_ = was_in_poll;
      return request.result;
    }
    if (request.kind != ControlRequest::Kind::halt) {
      count_violation(&Violations::concurrent_use);
      return Status::failure;
    }
    std::this_thread::yield();
  }
}

Status Adapter::reset() {
  if (halting_.load()) return Status::closing;
  ControlRequest r{ControlRequest::Kind::reset};
  return run_on_worker(r);
}

void Adapter::halt() {
  if (halted_.load()) return;
  if (halting_.exchange(true)) {  // another thread is halting it: wait for that to finish
    while (!halted_.load()) std::this_thread::yield();
    return;
  }
  stop_worker();
  ControlRequest r{ControlRequest::Kind::halt};
  (void)run_on_worker(r);
  halted_.store(true, std::memory_order_release);
}

Status Adapter::query(Oid oid, void* buffer, uint32_t length, uint32_t* written, uint32_t* needed) {
  ControlRequest r{ControlRequest::Kind::query, oid, buffer, length, written, needed};
  return run_on_worker(r);
}

Status Adapter::do_query(Oid oid, void* buffer, uint32_t length, uint32_t* written,
                         uint32_t* needed) noexcept {
  const AdapterCounters c = counters();
  switch (oid) {
    case Oid::maximum_send_packets:
      return answer_query(&max_send_, sizeof max_send_, buffer, length, written, needed);
    case Oid::transmit_queue_length: {  // R27
      const auto value = static_cast<uint32_t>(c.in_flight);
      return answer_query(&value, sizeof value, buffer, length, written, needed);
    }
    case Oid::xmit_ok:
    case Oid::xmit_error: {  // R25: 8 bytes if there is room, else 4
      const uint64_t value = oid == Oid::xmit_ok ? c.completed_ok : c.completed_error;
      if (length >= 8 || length < 4)
        return answer_query(&value, 8, buffer, length, written, needed);
      const auto small = static_cast<uint32_t>(value);
      return answer_query(&small, 4, buffer, length, written, needed);
    }
    default:
      break;
  }
  *written = 0;
  *needed = 0;
  if (halted_.load(std::memory_order_relaxed)) return Status::adapter_removed;  // it may be gone
  if (miniport_.query_information == nullptr) return Status::not_supported;
  const Status s = miniport_.query_information(miniport_context_, oid, buffer, length, written, needed);
  if (*written > length) *written = length;  // R24: never more than the buffer
  return s;
}

// ---------------------------------------------------------------------------------------------
// Counters

void Adapter::count_violation(uint64_t Violations::*which, const Packet* packet) noexcept {
  static const Violations layout{};
  const auto index = static_cast<std::size_t>(
      reinterpret_cast<const char*>(&(layout.*which)) - reinterpret_cast<const char*>(&layout)) /
      sizeof(uint64_t);
  violations_[index].fetch_add(1, std::memory_order_relaxed);
  if (verifier_ == nullptr) return;
  verifier_->note(violation_names[index], packet);
}

void Adapter::reject_entry(const Packet* p) noexcept {
  // Cold path: a null entry, a freed packet, or one still in flight (sent twice).
  const PacketState s = p != nullptr ? p->tracking.state.load(std::memory_order_relaxed) : PacketState::free;
  if (s != PacketState::free && s != PacketState::protocol)
    count_violation(&Violations::resubmitted_in_flight, p);
  count_violation(&Violations::rejected_entries, p);
}

void Adapter::returned(Binding& binding, uint64_t n) noexcept {
  // The last packet of a closing binding frees its slot (close_adapter from inside a handler
  // answered pending); sequentially consistent with close_adapter's store and load.
  if (binding.outstanding_.fetch_sub(n) == n && binding.closing_.load()) [[unlikely]] release_slot(binding);
}

void Adapter::release_slot(Binding& binding) noexcept {
  if (binding.slot_released_.exchange(true)) return;  // close_adapter and the worker may both try
  Binding* expected = &binding;
  bindings_[binding.slot_].compare_exchange_strong(expected, nullptr);
}

VerifierReport Adapter::verifier_report() const {
  return verifier_ != nullptr ? verifier_->report() : VerifierReport{};
}

AdapterCounters Adapter::counters() const noexcept {
  AdapterCounters c;
  uint64_t completed = 0;
  for (unsigned i = 0; i < status_count; ++i) {
    c.completed_by_status[i] = completed_by_status_[i].get();
    completed += c.completed_by_status[i];
  }
  c.completed_ok = c.completed_by_status[status_index(Status::success)];
  c.completed_error = completed - c.completed_ok;
  // Read after the completions: each packet is counted as submitted before it can complete.
  c.submitted = submitted_.load(std::memory_order_acquire) + submitted_direct_.get();
  c.rejected_sync = rejected_sync_.load(std::memory_order_relaxed);
  c.in_flight = c.submitted > completed ? c.submitted - completed : 0;
  c.batches = batches_.get();
  c.batch_packets = batch_packets_.get();
  c.resources_events = resources_events_.get();
  c.requeued = requeued_.get();
  c.resets = resets_.get();
  auto* v = reinterpret_cast<uint64_t*>(&c.violations);
  for (std::size_t i = 0; i < violations_.size(); ++i)
    v[i] = violations_[i].load(std::memory_order_relaxed);
  return c;
}

std::vector<uint64_t> Adapter::batch_size_counts() const {
  std::vector<uint64_t> out(max_send_ + 1);
  for (uint32_t i = 0; i <= max_send_; ++i) out[i] = batch_sizes_[i].get();
  return out;
}

bool Adapter::idle() const noexcept {
  const AdapterCounters c = counters();
  return c.in_flight == 0;
}

void Adapter::reset_statistics() noexcept {
  latency_.reset();
  for (uint32_t i = 0; i <= max_send_; ++i) batch_sizes_[i].value.store(0);
  batches_.value.store(0);
  batch_packets_.value.store(0);
  resources_events_.value.store(0);
  requeued_.value.store(0);
}

}  // namespace pkio
