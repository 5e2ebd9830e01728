#include "frames.h"

#include "restamp.h"

#include <bit>
#include <cstring>

namespace pkio::gen {

namespace {
constexpr uint8_t ip_proto_tcp = 6;
constexpr uint8_t ip_proto_udp = 17;
constexpr uint32_t ipv4_checksum = ethernet_header + 10;
constexpr uint32_t ipv4_total_length = ethernet_header + 2;
constexpr uint32_t ipv6_payload_length = ethernet_header + 4;

void put16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint16_t get16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint8_t protocol_number(Transport t) noexcept { return t == Transport::udp ? ip_proto_udp : ip_proto_tcp; }

/// Sum of the transport pseudo-header (RFC 768 / RFC 793 for IPv4, RFC 8200 for IPv6).
uint32_t pseudo_header_sum(const uint8_t* ip, bool v6, uint8_t protocol, uint32_t l4_length) noexcept {
  const uint32_t sum = v6 ? checksum_add(ip + 8, 32, 0) : checksum_add(ip + 12, 8, 0);
  return sum + protocol + (l4_length >> 16) + (l4_length & 0xFFFF);
}

/// RFC 1624 eqn. 3: adds `delta` (a sum of ~old and new words) to the checksum at `at`.
void apply_delta(uint8_t* at, uint32_t delta, bool udp) noexcept {
  const uint16_t c = checksum_finish(static_cast<uint16_t>(~get16(at)) + delta);
  put16(at, udp && c == 0 ? 0xFFFF : c);  // UDP: 0 would mean "no checksum"
}

/// The change of one 16-bit word from `from` to `to`, for apply_delta.
uint32_t word_delta(uint16_t from, uint16_t to) noexcept { return static_cast<uint16_t>(~from) + uint32_t{to}; }

/// The change from the `length` bytes (even) at `from` to those at `to`, for apply_delta.
/// Summed 4 bytes at a time in the machine's byte order into 64 bits (no carry is lost) and
/// swapped once at the end: a one's-complement sum does not depend on byte order or word
/// width (RFC 1071, 2.B).
uint32_t bytes_delta(const uint8_t* from, const uint8_t* to, uint32_t length) noexcept {
  uint64_t sum = 0;
  uint32_t i = 0;
  for (; i + 4 <= length; i += 4) {
    uint32_t a, b;
    std::memcpy(&a, from + i, 4);
    std::memcpy(&b, to + i, 4);
    sum += uint64_t{~a} + b;
  }
  if (i < length) {
    uint16_t a, b;
    std::memcpy(&a, from + i, 2);
    std::memcpy(&b, to + i, 2);
    sum += uint64_t{static_cast<uint16_t>(~a)} + b;
  }
  return stamp_math::fold_delta(sum);
}
}  // namespace

uint32_t checksum_add(const uint8_t* data, uint32_t length, uint32_t sum) noexcept {
  for (; length > 1; data += 2, length -= 2) sum += get16(data);
  if (length) sum += static_cast<uint32_t>(data[0]) << 8;
  return sum;
}

FrameLayout layout_of(IpVersion ip, Transport transport) noexcept {
  FrameLayout l;
  l.ip = ip;
  l.transport = transport;
  l.l4 = ethernet_header + (ip == IpVersion::v4 ? 20 : 40);
  l.payload = l.l4 + (transport == Transport::udp ? 8 : 20);
  l.l4_checksum = l.l4 + (transport == Transport::udp ? 6 : 16);
  return l;
}

HeaderValues first_values(const StreamSpec& s) noexcept {
  HeaderValues v{};
  field_value(s.dst_mac, 0, v.dst_mac, 6);
  field_value(s.src_mac, 0, v.src_mac, 6);
  const unsigned width = s.ip == IpVersion::v4 ? 4 : 16;
  field_value(s.src_ip, 0, v.src_ip, width);
  field_value(s.dst_ip, 0, v.dst_ip, width);
  v.src_port = static_cast<uint16_t>(s.src_port.start);
  v.dst_port = static_cast<uint16_t>(s.dst_port.start);
  return v;
}

void build_frame(uint8_t* f, uint32_t size, const FrameLayout& l, const HeaderValues& v) noexcept {
  std::memset(f, 0, size);
  std::memcpy(f, v.dst_mac, 6);
  std::memcpy(f + 6, v.src_mac, 6);
  uint8_t* ip = f + ethernet_header;
  const bool v6 = l.ip == IpVersion::v6;
  const uint8_t protocol = protocol_number(l.transport);
  const uint32_t l4_length = size - l.l4;
  if (!v6) {
    put16(f + 12, 0x0800);
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(size - ethernet_header));
    ip[8] = 64;  // TTL
    ip[9] = protocol;
    std::memcpy(ip + 12, v.src_ip, 4);
    std::memcpy(ip + 16, v.dst_ip, 4);
    put16(ip + 10, checksum_finish(checksum_add(ip, 20, 0)));
  } else {
    put16(f + 12, 0x86DD);
    ip[0] = 0x60;
    put16(ip + 4, static_cast<uint16_t>(l4_length));
    ip[6] = protocol;
    ip[7] = 64;  // hop limit
    std::memcpy(ip + 8, v.src_ip, 16);
    std::memcpy(ip + 24, v.dst_ip, 16);
  }
  uint8_t* l4 = f + l.l4;
  put16(l4, v.src_port);
  put16(l4 + 2, v.dst_port);
  if (l.transport == Transport::udp) {
    put16(l4 + 4, static_cast<uint16_t>(l4_length));
  } else {
    l4[12] = 5 << 4;      // data offset: 20 bytes, no options
    l4[13] = 0x02;        // SYN
    put16(l4 + 14, 64240);  // window
  }
  const uint16_t c = checksum_finish(checksum_add(l4, l4_length, pseudo_header_sum(ip, v6, protocol, l4_length)));
  put16(f + l.l4_checksum, l.transport == Transport::udp && c == 0 ? 0xFFFF : c);
}

void rewrite(uint8_t* f, const FrameLayout& l, uint32_t offset, const void* bytes, uint32_t length) noexcept {
  const auto* in = static_cast<const uint8_t*>(bytes);
  if (offset < ethernet_header) {  // MAC addresses: no checksum covers them
    std::memcpy(f + offset, in, length);
    return;
  }
  const uint32_t delta = bytes_delta(f + offset, in, length);
  std::memcpy(f + offset, in, length);
  if (l.ip == IpVersion::v4 && offset < l.l4) apply_delta(f + ipv4_checksum, delta, false);
  apply_delta(f + l.l4_checksum, delta, l.transport == Transport::udp);
}

void resize_frame(uint8_t* f, const FrameLayout& l, uint32_t old_size, uint32_t new_size) noexcept {
  if (old_size == new_size) return;
  const auto old_l4 = static_cast<uint16_t>(old_size - l.l4), new_l4 = static_cast<uint16_t>(new_size - l.l4);
  const bool udp = l.transport == Transport::udp;
  if (l.ip == IpVersion::v4) {
    const auto old_total = static_cast<uint16_t>(old_size - ethernet_header);
    const auto new_total = static_cast<uint16_t>(new_size - ethernet_header);
    put16(f + ipv4_total_length, new_total);
    apply_delta(f + ipv4_checksum, word_delta(old_total, new_total), false);
  } else {
    put16(f + ipv6_payload_length, new_l4);  // not under any checksum
  }
  uint32_t delta = word_delta(old_l4, new_l4);  // the pseudo-header's length
  if (udp) {
    put16(f + l.l4 + 4, new_l4);  // and UDP's own length field
    delta += word_delta(old_l4, new_l4);
  }
  apply_delta(f + l.l4_checksum, delta, udp);
}

void stamp_frame(uint8_t* f, const FrameLayout& l, uint64_t sequence, uint64_t timestamp) noexcept {
  uint8_t stamp[stamp_size];
  std::memcpy(stamp, &stamp_magic, 4);
  std::memcpy(stamp + 4, &sequence, 8);
  std::memcpy(stamp + 12, &timestamp, 6);  // the low 48 bits (little-endian machine order)
  rewrite(f, l, l.payload, stamp, stamp_size);
}

uint16_t unstamped_sum(uint16_t checksum, uint64_t sequence, uint64_t timestamp) noexcept {
  const uint32_t sum = static_cast<uint16_t>(~checksum) + stamp_math::fold_delta(stamp_math::stamp_words(sequence, timestamp, true));
  return static_cast<uint16_t>((sum & 0xFFFF) + (sum >> 16));  // one fold: at most 0x1FFFE
}

uint16_t transport_checksum(const uint8_t* f, const FrameLayout& l) noexcept { return get16(f + l.l4_checksum); }

void clear_stamp(uint8_t* f, const FrameLayout& l) noexcept {
  static const uint8_t zeros[stamp_size] = {};
  rewrite(f, l, l.payload, zeros, stamp_size);
}

FrameInfo inspect_frame(const uint8_t* f, uint32_t size) noexcept {
  FrameInfo info;
  if (size < ethernet_header) return info;
  uint32_t at = 12;
  uint16_t type = get16(f + at);
  if (type == 0x8100 && size >= ethernet_header + 4) {
    info.tagged = true;
    info.vlan_tci = get16(f + 14);
    at += 4;
    type = get16(f + at);
  }
  const uint32_t l3 = at + 2;
  const uint8_t* ip = f + l3;
  uint32_t l4 = 0, l4_length = 0;
  uint8_t protocol = 0;
  bool v6 = false, ip_ok = true;
  if (type == 0x0800 && size >= l3 + 20 && (ip[0] >> 4) == 4) {
    const uint32_t ihl = (ip[0] & 0x0F) * 4u, total = get16(ip + 2);
    if (ihl < 20 || total < ihl || l3 + total > size) return info;
    ip_ok = checksum_finish(checksum_add(ip, ihl, 0)) == 0;
    protocol = ip[9];
    l4 = l3 + ihl;
    l4_length = total - ihl;
  } else if (type == 0x86DD && size >= l3 + 40 && (ip[0] >> 4) == 6) {
    v6 = true;
    protocol = ip[6];
    l4 = l3 + 40;
    l4_length = get16(ip + 4);
    if (l4 + l4_length > size) return info;
  } else {
    return info;
  }
  uint32_t header = 0;
  if (protocol == ip_proto_udp && l4_length >= 8) header = 8;
  else if (protocol == ip_proto_tcp && l4_length >= 20) header = (f[l4 + 12] >> 4) * 4u;
  if (header == 0 || header > l4_length) return info;
  const bool l4_ok = checksum_finish(checksum_add(f + l4, l4_length, pseudo_header_sum(ip, v6, protocol, l4_length))) == 0;
  info.checksums_ok = ip_ok && l4_ok;
  const uint8_t* stamp = f + l4 + header;
  if (l4_length - header >= stamp_size && std::memcmp(stamp, &stamp_magic, 4) == 0) {
    info.ours = true;
    std::memcpy(&info.sequence, stamp + 4, 8);
    info.timestamp = 0;
    std::memcpy(&info.timestamp, stamp + 12, 6);
  }
  return info;
}

}  // namespace pkio::gen
