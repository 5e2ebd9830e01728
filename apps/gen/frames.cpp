#include "frames.h"

#include <cstring>

namespace pkio::gen {

namespace {
void put16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) noexcept {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
uint16_t get16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

/// Sum of the UDP pseudo-header (source, destination, protocol, UDP length).
uint32_t pseudo_header_sum(const uint8_t* ip, uint16_t udp_length) noexcept {
  uint32_t sum = checksum_add(ip + 12, 8, 0);  // source and destination addresses
  return sum + 17 + udp_length;
}
}  // namespace

uint32_t checksum_add(const uint8_t* data, uint32_t length, uint32_t sum) noexcept {
  for (; length > 1; data += 2, length -= 2) sum += get16(data);
  if (length) sum += static_cast<uint32_t>(data[0]) << 8;
  return sum;
}

uint16_t checksum_finish(uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void build_frame(uint8_t* f, uint32_t size, const Addresses& a) {
  std::memset(f, 0, size);
  std::memcpy(f, a.dst_mac, 6);
  std::memcpy(f + 6, a.src_mac, 6);
  put16(f + 12, 0x0800);
  uint8_t* ip = f + 14;
  const auto ip_length = static_cast<uint16_t>(size - 14);
  ip[0] = 0x45;
  put16(ip + 2, ip_length);
  ip[8] = 64;  // TTL
  ip[9] = 17;  // UDP
  put32(ip + 12, a.src_ip);
  put32(ip + 16, a.dst_ip);
  put16(ip + 10, checksum_finish(checksum_add(ip, 20, 0)));
  uint8_t* udp = f + udp_offset;
  const auto udp_length = static_cast<uint16_t>(ip_length - 20);
  put16(udp, a.src_port);
  put16(udp + 2, a.dst_port);
  put16(udp + 4, udp_length);
  if (size >= min_frame_with_stamp) std::memcpy(f + stamp_offset, &stamp_magic, 4);
  uint16_t c = checksum_finish(checksum_add(udp, udp_length, pseudo_header_sum(ip, udp_length)));
  put16(udp + 6, c == 0 ? 0xFFFF : c);  // 0 would mean "no checksum"
}

void stamp_frame(uint8_t* f, uint32_t size, uint64_t sequence, uint64_t timestamp) noexcept {
  if (size < min_frame_with_stamp) return;
  uint8_t* field = f + stamp_offset + 4;
  // RFC 1624: HC' = ~(~HC + ~m + m') over the 16-bit words that change (at even offsets from
  // the UDP header, so the words line up with the checksum's).
  uint32_t sum = static_cast<uint16_t>(~get16(f + udp_offset + 6));
  for (unsigned i = 0; i < 16; i += 2) sum += static_cast<uint16_t>(~get16(field + i));
  std::memcpy(field, &sequence, 8);
  std::memcpy(field + 8, &timestamp, 8);
  sum = checksum_add(field, 16, sum);
  const uint16_t c = checksum_finish(sum);
  put16(f + udp_offset + 6, c == 0 ? 0xFFFF : c);
}

bool read_stamp(const uint8_t* f, uint32_t size, uint64_t& sequence, uint64_t& timestamp) noexcept {
  if (size < min_frame_with_stamp || std::memcmp(f + stamp_offset, &stamp_magic, 4) != 0) return false;
  std::memcpy(&sequence, f + stamp_offset + 4, 8);
  std::memcpy(&timestamp, f + stamp_offset + 12, 8);
  return true;
}

bool checksums_ok(const uint8_t* f, uint32_t size) noexcept {
  if (size < udp_offset + 8 || get16(f + 12) != 0x0800) return false;
  const uint8_t* ip = f + 14;
  if (checksum_finish(checksum_add(ip, 20, 0)) != 0) return false;
  const uint16_t udp_length = get16(f + udp_offset + 4);
  if (udp_offset + udp_length > size) return false;
  return checksum_finish(checksum_add(f + udp_offset, udp_length, pseudo_header_sum(ip, udp_length))) == 0;
}

}  // namespace pkio::gen
