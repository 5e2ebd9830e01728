// pkio-gen's frames: Ethernet (802.1Q is added by the miniport) + IPv4 or IPv6 + UDP or a TCP
// SYN, with a payload stamp (magic, sequence number, transmit timestamp) and correct
// checksums. A frame is built once; per send only what changes is rewritten (stamp, varying
// fields, length) and its checksums are updated incrementally (RFC 1624), never recomputed.
#pragma once

#include <cstdint>

#include "traffic.h"

namespace pkio::gen {

inline constexpr uint32_t stamp_magic = 0x4F494B50;  // "PKIO" in memory order
/// magic, sequence number, timestamp (the TSC's low 48 bits, enough for 30 hours at 2.6 GHz):
/// 18 bytes, so that a 60-byte IPv4/UDP frame (IMIX's smallest) carries one too.
inline constexpr uint32_t stamp_size = 4 + 8 + 6;
inline constexpr uint64_t timestamp_mask = (uint64_t{1} << 48) - 1;
inline constexpr uint32_t ethernet_header = 14;

/// Where the headers of one kind of frame sit. All offsets are even, so every 16-bit word
/// rewritten lines up with the words the checksums add.
struct FrameLayout {
  IpVersion ip = IpVersion::v4;
  Transport transport = Transport::udp;
  uint32_t l4 = 34;          ///< transport header offset
  uint32_t payload = 42;     ///< first byte after the transport header: the stamp
  uint32_t l4_checksum = 40; ///< offset of the UDP or TCP checksum
  /// Smallest frame holding every header (sizes below are refused).
  [[nodiscard]] uint32_t headers() const noexcept { return payload; }
  /// Smallest frame that carries a stamp.
  [[nodiscard]] uint32_t stamped() const noexcept { return payload + stamp_size; }
};

FrameLayout layout_of(IpVersion ip, Transport transport) noexcept;

/// The header values of one frame.
struct HeaderValues {
  uint8_t dst_mac[6];
  uint8_t src_mac[6];
  uint8_t src_ip[16];  ///< first 4 bytes for IPv4
  uint8_t dst_ip[16];
  uint16_t src_port;
  uint16_t dst_port;
};

/// The values of `stream` for field value number 0 (the start of every range).
HeaderValues first_values(const StreamSpec& stream) noexcept;

/// Writes a complete frame of `size` bytes (>= layout.headers()) into `frame`, checksums
/// included, with a zero payload (no stamp yet).
void build_frame(uint8_t* frame, uint32_t size, const FrameLayout& layout, const HeaderValues& values) noexcept;

/// Replaces `length` bytes at `offset` (even) with `bytes`, updating the IPv4 header checksum
/// and the transport checksum as the bytes are covered by them (addresses are covered by the
/// transport pseudo-header too). The frame holds at least offset + length bytes.
void rewrite(uint8_t* frame, const FrameLayout& layout, uint32_t offset, const void* bytes, uint32_t length) noexcept;

/// Changes a frame from `old_size` to `new_size` bytes: length fields and checksums. The
/// payload beyond the smaller size must be zero (remove a stamp that would be cut first).
void resize_frame(uint8_t* frame, const FrameLayout& layout, uint32_t old_size, uint32_t new_size) noexcept;

/// Writes the stamp (magic, sequence number, timestamp) into a frame of at least
/// layout.stamped() bytes; clear_stamp zeroes it again.
void stamp_frame(uint8_t* frame, const FrameLayout& layout, uint64_t sequence, uint64_t timestamp) noexcept;
void clear_stamp(uint8_t* frame, const FrameLayout& layout) noexcept;

/// The rest of a stamped frame's transport checksum sum without its sequence number and
/// timestamp (RFC 1624 eqn. 3: ~HC + ~m, kept so that each restamp only adds m'), from the
/// frame's `checksum` and the stamp it carries.
uint16_t unstamped_sum(uint16_t checksum, uint64_t sequence, uint64_t timestamp) noexcept;
/// The transport checksum of a built frame (for restamp_frame, restamp.h).
uint16_t transport_checksum(const uint8_t* frame, const FrameLayout& layout) noexcept;

/// What a received frame says about itself (the receive side and the tests).
struct FrameInfo {
  bool ours = false;          ///< an IPv4/IPv6 UDP/TCP frame with pkio-gen's stamp
  bool checksums_ok = false;  ///< IPv4 header and transport checksums verify
  uint16_t vlan_tci = 0;      ///< 802.1Q TCI if tagged
  bool tagged = false;
  uint64_t sequence = 0;
  uint64_t timestamp = 0;     ///< the TSC's low 48 bits at transmit
};

/// Parses a frame as it is on the wire (an 802.1Q tag allowed) and verifies its checksums.
FrameInfo inspect_frame(const uint8_t* frame, uint32_t size) noexcept;

/// The Internet checksum (RFC 1071) of `length` bytes, added to `initial`, not complemented.
uint32_t checksum_add(const uint8_t* data, uint32_t length, uint32_t initial) noexcept;
/// Folds a 32-bit sum to 16 bits and complements it.
inline uint16_t checksum_finish(uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace pkio::gen
