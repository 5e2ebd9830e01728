/// @file
/// The miniport edge: what a miniport implements and the framework calls it may make.
///
/// Call order: fill a MiniportCharacteristics and create an Adapter with it (NDIS:
/// NdisMRegisterMiniport). Adapter::create calls initialize with the new adapter first (NDIS:
/// MiniportInitialize, which receives the MiniportAdapterHandle), so the miniport knows the
/// adapter it reports to from its first call on. The adapter's worker thread then calls
/// send_packets (or send) with arrays of at most OID_GEN_MAXIMUM_SEND_PACKETS packets, and
/// poll between batches; the miniport reports each packet's end with send_complete. halt is
/// the last call. A miniport whose context must go before its adapter calls Adapter::halt
/// first: every packet then completes, and the adapter never calls it again.
///
/// Threading: every MiniportCharacteristics function is called on the adapter's worker thread
/// (the thread calling Adapter::poll), never twice at once, also for a deserialized miniport
/// (contract R14). send_complete, send_resources_available and indicate_status may be called
/// from any thread, also from inside send_packets; a completion from another thread reaches
/// the protocol through the worker. None of them takes a lock or recurses into the miniport
/// (R21). A miniport never calls the protocol directly.
///
/// Departure from NDIS, documented: maximum_send_packets is honoured for deserialized
/// miniports too (R15), because choosing it well is what pkio's users come for.
#pragma once

#include <cstdint>

#include <pkio/oid.h>
#include <pkio/packet.h>
#include <pkio/status.h>

namespace pkio {

class Adapter;

/// Largest array the dispatcher hands to a miniport (OID_GEN_MAXIMUM_SEND_PACKETS is capped
/// at it).
inline constexpr uint32_t max_batch = 1024;

/// NDIS 5.1: NDIS51_MINIPORT_CHARACTERISTICS (the send, request and reset part), with the
/// NDIS_ATTRIBUTE_DESERIALIZE attribute. `context` is the miniport's MiniportAdapterContext.
struct MiniportCharacteristics {
  /// NDIS 5.1: MiniportInitialize. `adapter` drives this miniport from now on (NDIS: the
  /// MiniportAdapterHandle): the one to give send_complete, send_resources_available and
  /// indicate_status.
  /// Synchronization: the first call, once. Context: the thread calling Adapter::create.
  /// Return: success, or a failure status: Adapter::create then fails with it and calls
  /// nothing else. May be null.
  Status (*initialize)(void* context, Adapter& adapter) noexcept = nullptr;
  /// NDIS 5.1: MiniportSendPackets.
  /// Synchronization: never entered twice at once. Context: the adapter's worker thread.
  /// Return: through each packet's oob.status, read once it returns (read-only after, R36).
  /// Serialized: pending (one send_complete will follow), resources (this packet and all after
  /// it go back to the head of the queue, resubmitted after the next send_complete or
  /// send_resources_available), or a final status. Deserialized: statuses are ignored and
  /// every packet must be completed through send_complete (R18).
  void (*send_packets)(void* context, Packet* const* packets, uint32_t count) noexcept = nullptr;
  /// NDIS 5.1: MiniportSend. Only called if send_packets is null (R13).
  /// Synchronization: never entered twice at once. Context: the adapter's worker thread.
  /// Return: success (done now), pending, resources (requeued at the head), or a final status.
  Status (*send)(void* context, Packet* packet, uint32_t flags) noexcept = nullptr;
  /// NDIS 5.1: MiniportQueryInformation.
  /// Synchronization: one request at a time (R28), between send batches.
  /// Context: the worker thread (or the caller's while no worker runs, and at create).
  /// Return: per R24 (see answer_query): success, invalid_length with bytes_needed, or
  /// not_supported for an OID it does not know.
  Status (*query_information)(void* context, Oid oid, void* buffer, uint32_t length,
                              uint32_t* bytes_written, uint32_t* bytes_needed) noexcept = nullptr;
  /// NDIS 5.1: MiniportReset.
  /// Synchronization: called with the send path quiet. Context: the worker thread.
  /// Return: success (or a failure status, which is counted but changes nothing). Packets still
  /// pending when it returns are completed by the framework (reset_in_progress, or
  /// request_aborted if deserialized); a later send_complete for them is a violation (R12).
  Status (*reset)(void* context) noexcept = nullptr;
  /// NDIS 5.1: MiniportHalt.
  /// Synchronization: the last call; no send follows. Context: the thread halting the adapter.
  /// Return: nothing. Packets still pending after it are completed with request_aborted.
  void (*halt)(void* context) noexcept = nullptr;
  /// pkio: the poll step (what an ISR and DPC do in NDIS): reap transmit completions even when
  /// nothing new is sent, watch the link.
  /// Synchronization: never concurrent with send_packets. Context: the worker thread, on every
  /// Adapter::poll. Return: nothing. May be null.
  void (*poll)(void* context) noexcept = nullptr;
  /// NDIS 5.1: NDIS_ATTRIBUTE_DESERIALIZE.
  bool deserialized = false;
  /// pkio: send_packets itself fails, with invalid_packet and before the device sees it, every
  /// packet R10 refuses (empty chain, length 0 or over its maximum_total_size, reserved 802.1Q
  /// bits set), so the run-to-completion path does not check each packet twice. A serialized
  /// miniport's invalid_packet for the one packet of a `send` (NdisSend) on that path is
  /// `send`'s own answer: the packet is refused at once, not completed.
  bool checks_packets = false;
};

/// NDIS 5.1: NdisMSendComplete. Ends a packet the miniport returned pending (or, for a
/// deserialized miniport, any packet it was given). A completion for a packet that is not
/// pending in this adapter is counted and dropped (R20); pending or resources as a final
/// status becomes failure (R22). Any thread.
void send_complete(Adapter& adapter, Packet* packet, Status status) noexcept;

/// send_complete for each of `packets`, in order, all ending with `status`: the list form
/// NDIS 6 gave NdisMSendNetBufferListsComplete, for a deserialized miniport that sends whole
/// arrays. Same checks and effect as n calls of send_complete, at less cost. Any thread.
void send_complete_packets(Adapter& adapter, Packet* const* packets, uint32_t n, Status status) noexcept;

/// NDIS 5.1: NdisMSendResourcesAvailable. Packets requeued after `resources` are resubmitted
/// on the worker's next step (never from inside this call, R21). Any thread.
void send_resources_available(Adapter& adapter) noexcept;

/// NDIS 5.1: NdisMIndicateStatus. media_connect / media_disconnect reach every binding on a
/// real change only, and not during halt (R29). Any thread.
void indicate_status(Adapter& adapter, Indication indication) noexcept;

/// NDIS 5.1: NdisMRemoveMiniport. The miniport is going away before its adapter: halts the
/// adapter (every packet in flight completes; the miniport's halt is called), after which the
/// adapter never calls the miniport again. Returns how many packets were in flight. Call it
/// from the thread tearing down, not from a miniport function.
uint64_t remove_miniport(Adapter& adapter) noexcept;

/// The adapter a packet was handed to, for completion callbacks that carry only the packet
/// (a DPDK external-buffer free callback). Null for a packet never submitted.
[[nodiscard]] Adapter* submitted_to(const Packet* packet) noexcept;

/// NDIS 5.1: MiniportAdapterContext, as given to Adapter::create.
[[nodiscard]] void* miniport_context(const Adapter& adapter) noexcept;

/// Writes a `size`-byte answer to a query per R24: success and bytes_written = size if it
/// fits; otherwise invalid_length, bytes_needed = size and nothing written.
Status answer_query(const void* value, uint32_t size, void* buffer, uint32_t length,
                    uint32_t* bytes_written, uint32_t* bytes_needed) noexcept;

}  // namespace pkio
