/// @file
/// Adapter: the dispatcher between bindings and one miniport (NDIS: the miniport block that
/// NDIS keeps per adapter). It queues submitted packets, hands them to the miniport in arrays
/// of at most maximum_send_packets, interprets the statuses, requeues after `resources`,
/// detects hangs, and delivers completions to the submitting bindings in batches.
///
/// Threading: one worker thread per adapter runs poll(): either a thread the adapter starts
/// (start_worker) or, in run-to-completion mode, the thread that sends (send_packets hands
/// the array to the miniport itself, with no ring hop, and runs a poll step when that left
/// work or 10 us have passed; call poll() when you stop sending). Producers on other
/// threads hand packets over through a DPDK ring of packet pointers (one compare-and-swap
/// per send_packets call of up to 64 packets), with an unbounded overflow queue behind it
/// (submission_queue.h). The data path takes no lock and does no heap allocation; control
/// calls (create, reset, query) may.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pkio/counters.h>
#include <pkio/latency_histogram.h>
#include <pkio/result.h>
#include <pkio/detail/packet_queue.h>
#include <pkio/detail/submission_queue.h>
#include <pkio/verifier.h>
#include <pkio/miniport.h>
#include <pkio/protocol.h>

namespace pkio {

class Binding;
class Verifier;

/// How an adapter runs.
struct AdapterConfig {
  /// OID_GEN_MAXIMUM_SEND_PACKETS to enforce; 0 = ask the miniport (1 if it cannot say).
  /// Capped at max_batch.
  uint32_t maximum_send_packets = 0;
  /// True: the sending thread is the worker (single-threaded generators). False: a worker
  /// thread (start_worker) or an external loop calls poll() and any thread may send.
  bool run_to_completion = true;
  /// A packet pending longer than this goes through the reset path (R23). 0 = never.
  uint64_t send_timeout_ns = 2'000'000'000;
  /// Frame size limit for R10 when the miniport cannot answer OID_GEN_MAXIMUM_TOTAL_SIZE.
  uint32_t default_maximum_total_size = 1514;
  /// Verifier mode (verifier.h): check every packet state change and keep every violation
  /// with its packet. Costs an atomic exchange and census update per state change; the
  /// docs/embedding.md ("Verifier mode") states what that costs per packet.
  bool verifier = false;
};

/// Arrays at least this long have their successes delivered as soon as the miniport returns
/// (NDIS: NdisMSendComplete right after MiniportSendPackets); shorter ones are gathered so
/// that handler calls stay large.
inline constexpr uint32_t deliver_at_once_from = 16;
/// The run-to-completion direct path reads the clock on one call in every this many packets'
/// worth (and whenever a packet does not complete inside the call): those calls' packets are
/// the latency samples, and they check whether a poll step is due. A clock read costs as much
/// as the rest of a small call.
inline constexpr uint32_t latency_sample_packets = 32;
/// Most bindings open on one adapter at once (a closed binding's slot is reused).
inline constexpr uint32_t max_bindings = 64;

/// NDIS 5.1: the miniport block NDIS keeps per adapter, with the queues and the completion
/// path between its bindings and its miniport. See the file comment for threading.
class Adapter {
 public:
  /// NDIS 5.1: NdisMRegisterMiniport + MiniportInitialize. Calls the miniport's initialize
  /// with the new adapter (so the two are wired together here, once), then queries it for
  /// maximum_send_packets (R15: 1 if it cannot say) and maximum_total_size. Fails if the
  /// characteristics offer neither send_packets nor send (R13), or with initialize's status
  /// if that fails (nothing else is called then).
  [[nodiscard]] static Result<std::unique_ptr<Adapter>> create(const MiniportCharacteristics& miniport,
                                                               void* context, const AdapterConfig& config = {});
  /// Halts the adapter (see halt()) and frees it. No binding may be used afterwards; a
  /// closed binding's handle stays valid (answering closing, R11) until then.
  ~Adapter();
  Adapter(const Adapter&) = delete;
  Adapter& operator=(const Adapter&) = delete;

  /// One worker step: take new submissions, hand queued packets to the miniport in arrays,
  /// let the miniport reap completions, deliver completions, check timeouts and requests.
  /// Context: the worker thread only. Returns the number of packets completed in this step.
  /// Called while another thread is in the worker's role (a send on a run-to-completion
  /// adapter, another poll), it does nothing and counts Violations::concurrent_use. After
  /// halt it only delivers what has completed: the miniport is never called again.
  uint32_t poll() noexcept;

  /// Starts a worker thread that polls until stop_worker (not in run-to-completion mode).
  /// `cpu` >= 0 pins it. Fails if one runs already, in run-to-completion mode, or once halted.
  [[nodiscard]] Result<void> start_worker(int cpu = -1);
  /// Stops and joins the worker thread started by start_worker (no-op if none runs).
  void stop_worker();

  /// NDIS 5.1: NdisReset. Bindings see reset_start, every queued and pending packet
  /// completes exactly once (reset_in_progress, or request_aborted if deserialized), sends
  /// meanwhile get reset_in_progress, then reset_end (R12). Runs on the worker.
  Status reset();

  /// NDIS 5.1: MiniportHalt through NdisMDeregisterMiniport. Stops the worker, completes
  /// every queued packet (adapter_removed) and every pending one after the miniport's halt
  /// (request_aborted), delivers them, and refuses later sends (closing). Idempotent. From
  /// then on the adapter never calls the miniport again, so a miniport that must go before
  /// its adapter halts it first (the DPDK miniport does so itself).
  void halt();
  /// True once halt() has run.
  [[nodiscard]] bool halted() const noexcept { return halted_.load(std::memory_order_acquire); }

  /// Runs a query on the worker, one at a time (R28). Framework-answered OIDs:
  /// maximum_send_packets, xmit_ok, xmit_error (4 or 8 bytes, R25), transmit_queue_length
  /// (R27); the rest go to the miniport; not_supported if it has no query function.
  /// After halt, OIDs the miniport answers get adapter_removed.
  [[nodiscard]] Status query(Oid oid, void* buffer, uint32_t length, uint32_t* bytes_written,
                             uint32_t* bytes_needed);

  /// A snapshot of the counters, readable from any thread while the adapter runs.
  [[nodiscard]] AdapterCounters counters() const noexcept;
  /// Submit-to-completion latency of every completed packet, in read_cycles() units.
  [[nodiscard]] const LatencyHistogram& latency_cycles() const noexcept { return latency_; }
  /// Count of miniport calls by array size: element k counts calls with k packets.
  [[nodiscard]] std::vector<uint64_t> batch_size_counts() const;
  /// OID_GEN_MAXIMUM_SEND_PACKETS in force: no array handed to the miniport is longer.
  [[nodiscard]] uint32_t maximum_send_packets() const noexcept { return max_send_; }
  /// OID_GEN_MAXIMUM_TOTAL_SIZE: longer packets fail with invalid_packet (R10).
  [[nodiscard]] uint32_t maximum_total_size() const noexcept { return max_total_size_; }
  /// True for a miniport with NDIS_ATTRIBUTE_DESERIALIZE.
  [[nodiscard]] bool deserialized() const noexcept { return miniport_.deserialized; }
  /// The media state last indicated by the miniport (NdisMediaStateConnected).
  [[nodiscard]] bool media_connected() const noexcept {
    return media_state_.load(std::memory_order_relaxed) == MediaState::connected;
  }
  /// True when nothing is queued, pending or waiting for delivery.
  [[nodiscard]] bool idle() const noexcept;
  /// What the verifier saw (enabled false unless AdapterConfig::verifier). Any thread.
  [[nodiscard]] VerifierReport verifier_report() const;
  /// Clears the counters and histograms (between benchmark cases). Worker thread, at rest.
  void reset_statistics() noexcept;

 private:
  // The edge functions of protocol.h and miniport.h, and the dispatcher's own helpers.
  friend Status send(Binding* binding, Packet* packet) noexcept;
  friend void send_packets(Binding* binding, Packet* const* packets, uint32_t n) noexcept;
  friend Result<Binding*> open_adapter(Adapter& adapter, const ProtocolCharacteristics& protocol,
                                       void* binding_context);
  friend Status close_adapter(Binding* binding);
  friend void send_complete(Adapter& adapter, Packet* packet, Status status) noexcept;
  friend void send_complete_packets(Adapter& adapter, Packet* const* packets, uint32_t n, Status status) noexcept;
  friend void send_resources_available(Adapter& adapter) noexcept;
  friend void indicate_status(Adapter& adapter, Indication indication) noexcept;
  friend void* miniport_context(const Adapter& adapter) noexcept;
  friend class WorkerRole;

  Adapter(const MiniportCharacteristics& miniport, void* context, const AdapterConfig& config);

  struct ControlRequest;
  struct WorkerCounter {
    std::atomic<uint64_t> value{0};
    // Single writer: a plain add, readable from any thread. Release/acquire (free on x86) so
    // that a reader who sees a count also sees the counts the worker added before it.
    void add(uint64_t n) noexcept {
      value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_release);
    }
    [[nodiscard]] uint64_t get() const noexcept { return value.load(std::memory_order_acquire); }
  };

  // The protocol edge (protocol_edge.cpp): what send and send_packets do.
  Status accept_one(Binding& binding, Packet* packet) noexcept;
  void accept_array(Binding& binding, Packet* const* packets, uint32_t n) noexcept;
  void accept_queued(Binding& binding, Packet* const* packets, uint32_t n, Status state) noexcept;
  Status admit_state(const Binding& binding) const noexcept;
  Status admit_packet(Packet* packet) const noexcept;
  void enqueue_here(Packet* packet) noexcept;
  /// The direct path is open for an array of `n`: see protocol_edge.cpp.
  bool direct_open(const Binding& binding, uint32_t n) const noexcept;
  /// Run-to-completion with nothing queued: the caller's array straight to the miniport.
  /// `one_send`: a send of one packet to a serialized miniport that checks packets (see
  /// miniport_answers_r10_); it returns invalid_packet if the miniport refused it, else pending.
  template <bool one_send>
  Status send_direct(Binding& binding, Packet* const* packets, uint32_t n) noexcept;
  void claim_for_miniport(Verifier* verifier, Packet* packet, Binding& binding) noexcept;
  /// What sort_entries made of a direct call's array.
  struct SortedEntries {
    uint32_t to_miniport;  ///< entries in `chunk`
    uint32_t accepted;     ///< entries taken (the rest were refused, R40)
    uint64_t now;          ///< the clock, if it was read (0 if not)
  };
  // Returned by value, not through references: a variable whose address an out-of-line call
  // takes lives on the stack for the whole of send_direct.
  SortedEntries sort_entries(Binding& binding, Packet* const* packets, uint32_t good, uint32_t n,
                             Packet** chunk) noexcept;
  void poll_after_direct() noexcept;
  Status add_binding(const ProtocolCharacteristics& protocol, void* context, Binding*& out);
  // The miniport edge (miniport_edge.cpp).
  void complete_from_worker(Packet* packet, Status status) noexcept;
  /// complete_from_worker for an array (but a direct call's in order, which
  /// send_complete_packets takes itself); successes inside a step or direct call are gathered
  /// in finished_ (delivered by deliver_finished before it ends).
  void complete_array_from_worker(Packet* const* packets, uint32_t n, Status status) noexcept;
  [[gnu::noinline]] void complete_array_generally(Packet* const* packets, uint32_t n, Status status) noexcept;
  /// The next n entries of a direct deserialized call's array complete, in order.
  void complete_in_order(uint32_t n) noexcept;
  /// A completion inside a direct deserialized call that is not the next in order: the
  /// entries completed in order so far join finished_, and completions go the general way.
  [[gnu::noinline]] void leave_direct_order() noexcept;
  /// Successes into finished_ (room for n checked by the caller), each checked (completable).
  void gather_successes(Packet* const* packets, uint32_t n) noexcept;
  /// Whether the worker may complete p now: this adapter's, in the miniport or pending (R20);
  /// else counts the violation.
  bool completable(Packet* packet) noexcept;
  /// gather_successes' common case: the leading packets that are this adapter's and in the
  /// miniport move to `to` and into out; returns how many.
  [[gnu::noinline]] uint32_t gather_leading(Packet* const* packets, uint32_t n, Packet** out, PacketState to) noexcept;
  void complete_from_remote(Packet* packet, Status status) noexcept;
  [[gnu::noinline]] void complete_array_from_remote(Packet* const* packets, uint32_t n, Status status) noexcept;
  // The worker's step (dispatch.cpp).
  uint32_t poll_in_role(bool count_busy) noexcept;  // poll(); count_busy false: no violation
  void drain_submissions() noexcept;
  void drain_remote_completions() noexcept;
  void dispatch() noexcept;
  void after_serialized_call(Packet* const* batch, uint32_t n) noexcept;
  /// Links the packets a deserialized miniport kept into the pending list (their submit time
  /// written by the caller).
  void after_deserialized_call(Packet* const* batch, uint32_t n) noexcept;
  /// send_direct's call to a deserialized miniport (cold for a serialized one).
  void send_direct_deserialized(Binding& binding, Packet* const* chunk, uint32_t k, bool timed) noexcept;
  void send_one_by_one(Packet* const* batch, uint32_t n) noexcept;
  /// R16/R17: batch[from..n) still in the miniport go back to the queue's head, in order.
  void requeue_from(Packet* const* batch, uint32_t from, uint32_t n) noexcept;
  void link_pending(Packet* packet) noexcept;
  void unlink_pending(Packet* packet) noexcept;
  // Completion and delivery (completion.cpp): the one reading of a serialized miniport's
  // statuses, and the one way packets go back to their bindings.
  template <bool lazy_stamp>
  uint32_t take_statuses(Packet* const* batch, uint32_t n, Packet** done, PacketState finished_state,
                         uint64_t& now) noexcept;
  void complete(Packet* packet, Status status) noexcept;
  uint32_t deliver() noexcept;
  /// record_latency false: an untimed direct call's successes (their submit times unwritten);
  /// submitted_at, only: the submit time and binding they all share, if they do (one latency
  /// record, one handler call).
  void deliver_finished(bool record_latency = true, uint64_t submitted_at = 0, Binding* only = nullptr) noexcept;
  void return_successes(Packet* const* done, uint32_t n, uint64_t submitted_at, Binding* only,
                        bool record_latency = true) noexcept;
  template <bool record_latency>
  void call_handlers(Packet* const* done, uint32_t n) noexcept;
  /// `n` packets of `binding` are back with their protocol (after its handler returned).
  void returned(Binding& binding, uint64_t n) noexcept;
  /// returned, on the direct path of a run-to-completion adapter: one writer, no test.
  void returned_alone(Binding& binding, uint64_t n) noexcept;
  void release_slot(Binding& binding) noexcept;
  // The control path (control.cpp).
  void take_control_request() noexcept;
  void run_control(ControlRequest& request) noexcept;
  Status run_on_worker(ControlRequest& request);
  Status do_reset() noexcept;
  void do_halt() noexcept;
  Status do_query(Oid oid, void* buffer, uint32_t length, uint32_t* written, uint32_t* needed) noexcept;
  void fail_queued(Status status) noexcept;
  void force_complete_pending(Status status) noexcept;
  void check_timeouts() noexcept;
  void deliver_indications() noexcept;
  void indicate_all(Indication indication) noexcept;
  // Counters (counters.cpp).
  void count_violation(uint64_t Violations::*which, const Packet* packet = nullptr) noexcept;
  void reject_entry(const Packet* packet) noexcept;
  /// Every packet state change goes through here: a plain store, or the verifier's check
  /// (defined in the dispatcher's own packet_state.h).
  void move_state(Packet* p, PacketState to, std::memory_order order) noexcept;
  /// The same with the verifier given: a loop that changes many packets reads it once (the
  /// stores through Packet pointers would otherwise make the compiler reload the member).
  static void move_state(Verifier* verifier, Packet* p, PacketState to, std::memory_order order) noexcept;
  bool on_worker() const noexcept;

  MiniportCharacteristics miniport_;
  void* miniport_context_;
  AdapterConfig config_;
  uint32_t max_send_ = 1;
  uint32_t max_total_size_ = 1514;
  uint64_t timeout_cycles_ = 0;
  uint64_t direct_poll_cycles_ = 0;  // see poll_after_direct
  /// Run-to-completion over a serialized miniport's send_packets: arrays may go straight to
  /// it (send_direct) whenever direct_open().
  bool direct_capable_ = false;
  uint32_t max_direct_ = 0;  // the longest array the direct path takes: max_send_, 0 if not direct_capable_
  /// A serialized miniport that refuses every packet R10 refuses (checks_packets): it has
  /// answered before send_packets returns, so a direct send of one packet takes its answer
  /// as send's own instead of checking the packet first.
  bool miniport_answers_r10_ = false;

  // Shared with producers.
  SubmissionQueue submissions_;
  PacketMpscQueue remote_completions_;
  // Written by producers at every call: on a line of their own, away from the flags below
  // that the worker reads at every poll step (or each call would take that line from it).
  alignas(64) std::atomic<uint64_t> submitted_{0};
  std::atomic<uint64_t> rejected_sync_{0};
  alignas(64) std::atomic<bool> resetting_{false};
  std::atomic<bool> halting_{false};
  std::atomic<bool> resources_signal_{false};
  std::atomic<MediaState> media_state_{MediaState::connected};
  std::array<std::atomic<uint64_t>, sizeof(Violations) / sizeof(uint64_t)> violations_{};
  /// Open bindings by slot (null: free). Binding objects live until the adapter goes, so the
  /// worker may read a slot while the control path empties it.
  std::array<std::atomic<Binding*>, max_bindings> bindings_{};
  std::vector<std::unique_ptr<Binding>> all_bindings_;  // every binding opened (control path)
  std::mutex control_mutex_;  // control path only: open, reset, query, halt
  /// The thread in the worker's role now (a poll step, a send on a run-to-completion
  /// adapter, a request run in place), identified by a thread-local's address; null: none.
  /// See WorkerRole (the dispatcher's worker_role.h).
  std::atomic<const void*> worker_user_{nullptr};
  std::atomic<ControlRequest*> mailbox_{nullptr};

  // Worker only.
  PacketFifo queue_;
  PacketFifo completed_;
  Packet* pending_head_ = nullptr;
  Packet* pending_tail_ = nullptr;
  uint64_t pending_count_ = 0;
  bool blocked_on_resources_ = false;
  bool in_poll_ = false;
  MediaState indicated_media_ = MediaState::connected;
  std::array<WorkerCounter, status_count> completed_by_status_{};
  // Packets the run-to-completion path took (send_direct): counted by the worker alone, so
  // with a plain add instead of a locked one per call; counters() adds it to submitted_.
  WorkerCounter submitted_direct_;
  std::array<Packet*, max_batch> finished_{};  // successes waiting for deliver_finished()
  uint32_t finished_count_ = 0;
  // Some of finished_ came by send_complete: the miniport may still be writing their
  // oob.status inside its call (R8), so success is written only when they are delivered.
  bool finished_by_complete_ = false;
  // Inside a run-to-completion direct call to a deserialized miniport, the array handed to it
  // (null otherwise): no other thread can reach the adapter (WorkerRole), so its successes may
  // become the protocol's as they are gathered, and go back without a second pass over their
  // states (send_direct_deserialized).
  Packet* const* direct_chunk_ = nullptr;
  // In that call, while every completion so far was a success of the next entries of
  // direct_chunk_, in order: where the next must begin (null once one did not, and with the
  // verifier). Those entries are the protocol's already, but in no list: their state is all
  // that is stored for them, and they go back with nothing compared (send_direct_deserialized).
  Packet* const* direct_next_ = nullptr;
  Packet* const* direct_end_ = nullptr;
  uint64_t direct_poll_at_ = 0;  // the next poll step a direct send makes regardless
  uint32_t latency_credit_ = 0;  // packets sent directly since the last timed call
  uint32_t timed_calls_ = 0;     // timed direct calls since the last poll step
  bool direct_poll_due_ = false; // a timed direct call found a poll step due
  WorkerCounter resources_events_, requeued_, resets_;
  /// Miniport calls by array size; AdapterCounters::batches and batch_packets are its sums.
  std::unique_ptr<WorkerCounter[]> batch_sizes_;
  LatencyHistogram latency_;

  std::unique_ptr<Verifier> verifier_;  // AdapterConfig::verifier

  std::thread worker_;
  std::atomic<bool> worker_running_{false};
  std::atomic<bool> stop_worker_{false};
  std::atomic<std::thread::id> worker_id_{};
  std::atomic<bool> halted_{false};
};

}  // namespace pkio
