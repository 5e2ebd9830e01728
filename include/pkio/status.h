/// @file
/// NDIS 5.1 status codes (NDIS_STATUS_*) and status indications, with the
/// numeric values of the Windows headers so logs and JSON can be read against them.
#pragma once

#include <cstdint>
#include <string_view>

namespace pkio {

/// NDIS 5.1: NDIS_STATUS. The result of a send, a request or an allocation.
enum class Status : uint32_t {
  success = 0x00000000,             ///< NDIS_STATUS_SUCCESS
  pending = 0x00000103,             ///< NDIS_STATUS_PENDING: exactly one completion follows
  not_recognized = 0x00010001,      ///< NDIS_STATUS_NOT_RECOGNIZED
  resources = 0xC000009A,           ///< NDIS_STATUS_RESOURCES: out of descriptors or queue space
  failure = 0xC0000001,             ///< NDIS_STATUS_FAILURE
  not_supported = 0xC00000BB,       ///< NDIS_STATUS_NOT_SUPPORTED
  closing = 0xC0010002,             ///< NDIS_STATUS_CLOSING: the binding is being closed
  request_aborted = 0xC001000C,     ///< NDIS_STATUS_REQUEST_ABORTED
  reset_in_progress = 0xC001000D,   ///< NDIS_STATUS_RESET_IN_PROGRESS
  invalid_packet = 0xC001000F,      ///< NDIS_STATUS_INVALID_PACKET
  invalid_length = 0xC0010014,      ///< NDIS_STATUS_INVALID_LENGTH
  invalid_data = 0xC0010015,        ///< NDIS_STATUS_INVALID_DATA: a buffer that maps no memory
  buffer_too_short = 0xC0010016,    ///< NDIS_STATUS_BUFFER_TOO_SHORT
  invalid_oid = 0xC0010017,         ///< NDIS_STATUS_INVALID_OID
  adapter_removed = 0xC0010018,     ///< NDIS_STATUS_ADAPTER_REMOVED
  no_cable = 0xC001001F,            ///< NDIS_STATUS_NO_CABLE: the link is down
};

/// NDIS 5.1: the status codes passed to ProtocolStatus (NdisMIndicateStatus).
enum class Indication : uint32_t {
  reset_start = 0x40010004,         ///< NDIS_STATUS_RESET_START
  reset_end = 0x40010005,           ///< NDIS_STATUS_RESET_END
  media_connect = 0x4001000B,       ///< NDIS_STATUS_MEDIA_CONNECT
  media_disconnect = 0x4001000C,    ///< NDIS_STATUS_MEDIA_DISCONNECT
};

/// The snake_case NDIS name of a status ("success", "no_cable", ...); "unknown" otherwise.
[[nodiscard]] std::string_view to_string(Status status) noexcept;
/// The snake_case NDIS name of an indication; "unknown" otherwise.
[[nodiscard]] std::string_view to_string(Indication indication) noexcept;

/// True if `status` may be the final status of a completed send: anything known but
/// `pending` and `resources` (contract R22: those two are never final).
[[nodiscard]] constexpr bool is_final_send_status(Status status) noexcept {
  return status != Status::pending && status != Status::resources;
}

/// Every status above, in declaration order (for tables, counters and tests).
inline constexpr Status all_statuses[] = {
    Status::success,         Status::pending,          Status::not_recognized,
    Status::resources,       Status::failure,          Status::not_supported,
    Status::closing,         Status::request_aborted,  Status::reset_in_progress,
    Status::invalid_packet,  Status::invalid_length,   Status::buffer_too_short,
    Status::invalid_oid,     Status::adapter_removed,  Status::no_cable,
    Status::invalid_data,
};
/// Number of statuses in all_statuses.
inline constexpr unsigned status_count = sizeof(all_statuses) / sizeof(all_statuses[0]);

/// Dense index of a status in all_statuses (for counter arrays); status_count if unknown.
/// A switch, not a search: it runs once per completed packet.
[[nodiscard]] constexpr unsigned status_index(Status status) noexcept {
  switch (status) {
    case Status::success: return 0;
    case Status::pending: return 1;
    case Status::not_recognized: return 2;
    case Status::resources: return 3;
    case Status::failure: return 4;
    case Status::not_supported: return 5;
    case Status::closing: return 6;
    case Status::request_aborted: return 7;
    case Status::reset_in_progress: return 8;
    case Status::invalid_packet: return 9;
    case Status::invalid_length: return 10;
    case Status::buffer_too_short: return 11;
    case Status::invalid_oid: return 12;
    case Status::adapter_removed: return 13;
    case Status::no_cable: return 14;
    case Status::invalid_data: return 15;
  }
  return status_count;
}

/// True for the codes listed in Status; false for any other number.
[[nodiscard]] constexpr bool is_known(Status status) noexcept {
  return status_index(status) < status_count;
}

}  // namespace pkio
