/// @file
/// The protocol edge: what a protocol implements and calls to send.
///
/// Call order: open a binding on an Adapter with your ProtocolCharacteristics (NDIS:
/// NdisOpenAdapter); query OIDs (OID_GEN_MAXIMUM_SEND_PACKETS first, as the seeds advise);
/// send with send or send_packets; receive every packet back through send_complete; close.
///
/// Ownership (contract R4): from the call to send or send_packets until the packet comes back
/// through send_complete (or send returns anything but pending), the packet, its buffers and
/// their memory, its OOB block and media-specific info belong to the framework. Do not read
/// oob.status meanwhile. Order (R6, R7): packets reach the miniport in submission order per
/// binding (earlier in an array goes first); completions come in any order.
///
/// Threading: send and send_packets may be called from any thread at once, except on an
/// adapter in run-to-completion mode, which one thread at a time uses: a call made while
/// another thread is inside it is refused (its packets are never accepted) and counted as
/// Violations::concurrent_use. Handlers are called
/// on the adapter's worker thread with no framework lock held (R9): they may send again, free
/// the packet or close the binding. A completion may arrive before send_packets returns (R8).
#pragma once

#include <cstdint>

#include <pkio/oid.h>
#include <pkio/packet.h>
#include <pkio/result.h>
#include <pkio/status.h>

namespace pkio {

class Adapter;
class Binding;

/// NDIS 5.1: NDIS_PROTOCOL_CHARACTERISTICS (the send and status part). `binding_context` is
/// the protocol's ProtocolBindingContext given to open_adapter.
struct ProtocolCharacteristics {
  /// NDIS 5.1: ProtocolSendComplete, delivered in batches of packets of this binding.
  /// Synchronization: no framework lock held; may call send, send_packets, free, close.
  /// Context: the adapter's worker thread (inside Adapter::poll, or inside send_packets on a
  /// run-to-completion adapter).
  /// Return: nothing. Each packet's final status is in oob.status (never pending or
  /// resources); the packets and their buffers are the protocol's again.
  void (*send_complete)(void* binding_context, Packet* const* packets, uint32_t count) noexcept =
      nullptr;
  /// NDIS 5.1: ProtocolStatus (reset_start, reset_end, media_connect, media_disconnect).
  /// Synchronization: no framework lock held. Context: the adapter's worker thread.
  /// Return: nothing. May be null.
  void (*status)(void* binding_context, Indication indication) noexcept = nullptr;
};

/// NDIS 5.1: NdisOpenAdapter. A binding of `protocol` on `adapter`, whose handlers get
/// `binding_context`. Fails (failure) if send_complete is null or the adapter has
/// max_bindings (64) open already (a closed binding's place is free again), or (closing) if
/// the adapter is halted.
[[nodiscard]] Result<Binding*> open_adapter(Adapter& adapter, const ProtocolCharacteristics& protocol,
                                            void* binding_context);

/// NDIS 5.1: NdisCloseAdapter. Later sends get closing (R11). Waits until every packet of
/// the binding has completed and returns success; called from inside a handler (where waiting
/// would deadlock) it returns pending and the binding closes when its last packet completes.
/// The handle stays valid, answering closing, until the adapter is destroyed.
Status close_adapter(Binding* binding);

/// NDIS 5.1: NdisSend. pending: exactly one send_complete follows. Anything else: finished
/// now, nothing follows (R1): invalid_packet (R10), closing (R11), reset_in_progress (R12),
/// no_cable (R30), failure (null binding, or a packet not owned by the protocol: in flight,
/// freed, or not from a pool).
[[nodiscard]] Status send(Binding* binding, Packet* packet) noexcept;

/// NDIS 5.1: NdisSendPackets. Every packet completes exactly once through send_complete, also
/// those that fail at once (R2). n == 0 or a null array does nothing (R3). Null entries and
/// packets the protocol does not own (in flight, freed, from no pool) are skipped and counted
/// as violations (Violations::rejected_entries): they were never accepted. So is every repeat
/// of a packet in one array, however far apart, whether or not its first entry has completed
/// by then: the first entry is sent.
void send_packets(Binding* binding, Packet* const* packets, uint32_t n) noexcept;

/// NDIS 5.1: NdisRequest (NdisRequestQueryInformation). Per R24: success with bytes_written;
/// invalid_length with bytes_needed if the buffer is short; not_supported for unknown OIDs.
/// One request runs at a time per adapter (R28).
[[nodiscard]] Status query_information(Binding* binding, Oid oid, void* buffer, uint32_t length,
                                       uint32_t* bytes_written, uint32_t* bytes_needed);

/// The adapter a binding was opened on.
[[nodiscard]] Adapter* binding_adapter(const Binding* binding) noexcept;

/// Packets this binding submitted that have not completed yet.
[[nodiscard]] uint64_t binding_outstanding(const Binding* binding) noexcept;

}  // namespace pkio
