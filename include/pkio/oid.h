/// @file
/// NDIS 5.1 object identifiers (OID_GEN_*) that pkio answers, with their Windows values,
/// and the MAC option and miniport attribute bits.
#pragma once

#include <cstdint>
#include <string_view>

namespace pkio {

/// NDIS 5.1: NDIS_OID. Queried through a binding (NdisRequest) and answered by the miniport.
enum class Oid : uint32_t {
  maximum_lookahead = 0x00010105,      ///< OID_GEN_MAXIMUM_LOOKAHEAD
  maximum_frame_size = 0x00010106,     ///< OID_GEN_MAXIMUM_FRAME_SIZE: the MTU, no header
  link_speed = 0x00010107,             ///< OID_GEN_LINK_SPEED: in units of 100 bit/s
  transmit_buffer_space = 0x00010108,  ///< OID_GEN_TRANSMIT_BUFFER_SPACE: bytes
  transmit_block_size = 0x0001010A,    ///< OID_GEN_TRANSMIT_BLOCK_SIZE
  maximum_total_size = 0x00010111,     ///< OID_GEN_MAXIMUM_TOTAL_SIZE: MTU + header
  mac_options = 0x00010113,            ///< OID_GEN_MAC_OPTIONS: MacOption bits
  media_connect_status = 0x00010114,   ///< OID_GEN_MEDIA_CONNECT_STATUS: 0 connected, 1 not
  maximum_send_packets = 0x00010115,   ///< OID_GEN_MAXIMUM_SEND_PACKETS: the batch limit
  xmit_ok = 0x00020101,                ///< OID_GEN_XMIT_OK: 4 or 8 bytes
  xmit_error = 0x00020103,             ///< OID_GEN_XMIT_ERROR: 4 or 8 bytes
  transmit_queue_length = 0x0002020E,  ///< OID_GEN_TRANSMIT_QUEUE_LENGTH
};

/// NDIS 5.1: NDIS_MAC_OPTION_* bits answered for Oid::mac_options.
namespace mac_option {
inline constexpr uint32_t no_loopback = 0x8;       ///< NDIS_MAC_OPTION_NO_LOOPBACK
inline constexpr uint32_t full_duplex = 0x10;      ///< NDIS_MAC_OPTION_FULL_DUPLEX
inline constexpr uint32_t priority_8021p = 0x40;   ///< NDIS_MAC_OPTION_8021P_PRIORITY
}  // namespace mac_option

/// NDIS 5.1: NDIS_ATTRIBUTE_DESERIALIZE, set by a miniport that serializes itself.
inline constexpr uint32_t attribute_deserialize = 0x20;

/// NDIS 5.1: NdisMediaStateConnected / NdisMediaStateDisconnected.
enum class MediaState : uint32_t { connected = 0, disconnected = 1 };

/// The snake_case NDIS name of an OID; "unknown" otherwise.
[[nodiscard]] std::string_view to_string(Oid oid) noexcept;

}  // namespace pkio
