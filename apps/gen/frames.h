// pkio-gen's frames: Ethernet + optional 802.1Q (by the miniport) + IPv4 + UDP, with a
// payload stamp (magic, sequence number, transmit timestamp) and correct checksums. Frames
// are built once; per send only the stamp and the UDP checksum change (incrementally).
#pragma once

#include <cstdint>

namespace pkio::gen {

inline constexpr uint32_t stamp_magic = 0x4F494B50;  // "PKIO" in memory order
inline constexpr uint32_t udp_offset = 14 + 20;       // Ethernet + IPv4 (no options)
inline constexpr uint32_t stamp_offset = udp_offset + 8;
inline constexpr uint32_t min_frame_with_stamp = stamp_offset + 4 + 8 + 8;

/// Where the frames go (locally administered MACs, RFC 2544 benchmarking addresses).
struct Addresses {
  uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
  uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
  uint32_t src_ip = 0xC6120001;  // 198.18.0.1
  uint32_t dst_ip = 0xC6120002;  // 198.18.0.2
  uint16_t src_port = 1024;
  uint16_t dst_port = 1024;
};

/// Writes a complete frame of `size` bytes (>= 60) into `frame`, checksums included.
void build_frame(uint8_t* frame, uint32_t size, const Addresses& addresses);

/// Writes the sequence number and timestamp into a frame made by build_frame and updates its
/// UDP checksum incrementally (RFC 1624). Frames shorter than min_frame_with_stamp carry no
/// stamp and are left as they are.
void stamp_frame(uint8_t* frame, uint32_t size, uint64_t sequence, uint64_t timestamp) noexcept;

/// Reads a stamp back; false if the frame has none.
bool read_stamp(const uint8_t* frame, uint32_t size, uint64_t& sequence, uint64_t& timestamp) noexcept;

/// The Internet checksum (RFC 1071) of `length` bytes, added to `initial`, not complemented.
uint32_t checksum_add(const uint8_t* data, uint32_t length, uint32_t initial) noexcept;
/// Folds a 32-bit sum to 16 bits and complements it.
uint16_t checksum_finish(uint32_t sum) noexcept;

/// True if the frame's IPv4 header and UDP checksums verify (for tests and the receive side).
bool checksums_ok(const uint8_t* frame, uint32_t size) noexcept;

}  // namespace pkio::gen
