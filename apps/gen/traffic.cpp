#include "traffic.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace pkio::gen {

namespace {
constexpr uint32_t smallest_frame = 60;   // Ethernet minimum without FCS
constexpr uint32_t largest_frame = 9014;  // a 9000-byte MTU + 14: the largest a port here takes

/// A whole number from `lo` to `hi`, nothing else in the text.
bool parse_whole(const std::string& text, uint64_t lo, uint64_t hi, uint64_t& out) {
  if (text.empty() || text[0] == '-' || text[0] == '+' || text[0] == ' ') return false;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (*end != '\0' || v < lo || v > hi) return false;
  out = v;
  return true;
}

bool parse_frame_size(const std::string& text, uint32_t& out) {
  uint64_t v;
  if (!parse_whole(text, smallest_frame, largest_frame, v)) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

bool parse_mac(const std::string& text, unsigned __int128& out) {
  unsigned b[6];
  char tail;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    return false;
  if (text.size() != 17) return false;
  out = 0;
  for (unsigned x : b) out = out << 8 | x;
  return true;
}
}  // namespace

double SizeSpec::mean() const noexcept {
  if (kind != Kind::mix) return (min + max) / 2.0;
  double total = 0, weights = 0;
  for (const Share& s : mix) {
    total += static_cast<double>(s.size) * s.weight;
    weights += s.weight;
  }
  return weights > 0 ? total / weights : 0;
}

bool parse_size_spec(const std::string& input, SizeSpec& out, std::string& error) {
  const std::string text = input == "imix" ? imix_text : input;
  SizeSpec s;
  s.imix = input == "imix";
  const auto complain = [&] {
    error = "'" + input + "' is not a frame size from 60 to 9014, a range A-B, a mix SIZE:WEIGHT,... or imix";
    return false;
  };
  if (text.find(':') != std::string::npos) {
    s.kind = SizeSpec::Kind::mix;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
      const auto colon = item.find(':');
      uint64_t weight;
      SizeSpec::Share share{};
      if (colon == std::string::npos || !parse_frame_size(item.substr(0, colon), share.size) ||
          !parse_whole(item.substr(colon + 1), 1, 1000, weight))
        return complain();
      share.weight = static_cast<uint32_t>(weight);
      s.mix.push_back(share);
    }
    if (s.mix.empty() || text.back() == ',') return complain();
    s.min = std::min_element(s.mix.begin(), s.mix.end(), [](auto a, auto b) { return a.size < b.size; })->size;
    s.max = std::max_element(s.mix.begin(), s.mix.end(), [](auto a, auto b) { return a.size < b.size; })->size;
  } else if (const auto dash = text.find('-'); dash != std::string::npos) {
    s.kind = SizeSpec::Kind::range;
    if (!parse_frame_size(text.substr(0, dash), s.min) || !parse_frame_size(text.substr(dash + 1), s.max) ||
        s.min > s.max)
      return complain();
    if (s.min == s.max) s.kind = SizeSpec::Kind::fixed;
  } else {
    if (!parse_frame_size(text, s.min)) return complain();
    s.max = s.min;
  }
  out = s;
  return true;
}

bool parse_field_range(const std::string& input, FieldKind kind, FieldRange& out, std::string& error) {
  FieldRange r;
  std::string text = input;
  const std::string random_prefix = "random:";
  if (text.rfind(random_prefix, 0) == 0) {
    r.mode = FieldMode::random;
    text = text.substr(random_prefix.size());
  }
  std::string value = text, count;
  if (const auto plus = text.rfind('+'); plus != std::string::npos) {
    value = text.substr(0, plus);
    count = text.substr(plus + 1);
  }
  unsigned __int128 largest = 0;
  bool ok = false;
  const char* what = "";
  switch (kind) {
    case FieldKind::mac:
      what = "a MAC address like 02:00:00:00:00:01";
      ok = parse_mac(value, r.start);
      largest = (static_cast<unsigned __int128>(1) << 48) - 1;
      break;
    case FieldKind::ipv4: {
      what = "an IPv4 address";
      in_addr a{};
      ok = inet_pton(AF_INET, value.c_str(), &a) == 1;
      r.start = ntohl(a.s_addr);
      largest = 0xFFFFFFFFu;
      break;
    }
    case FieldKind::ipv6: {
      what = "an IPv6 address";
      in6_addr a{};
      ok = inet_pton(AF_INET6, value.c_str(), &a) == 1;
      for (uint8_t b : a.s6_addr) r.start = r.start << 8 | b;
      largest = ~static_cast<unsigned __int128>(0);
      break;
    }
    case FieldKind::port: {
      what = "a port number from 0 to 65535";
      uint64_t v = 0;
      ok = parse_whole(value, 0, 65535, v);
      r.start = v;
      largest = 65535;
      break;
    }
  }
  if (!ok) {
    error = "'" + input + "': '" + value + "' is not " + what;
    return false;
  }
  if (!count.empty()) {
    uint64_t c;
    if (!parse_whole(count, 1, 0xFFFFFFFFull, c)) {
      error = "'" + input + "': the count after '+' must be a whole number from 1 to 4294967295";
      return false;
    }
    r.count = c;
  } else if (r.mode == FieldMode::random) {
    error = "'" + input + "': random needs a count of values, as in random:VALUE+COUNT";
    return false;
  }
  if (largest - r.start < r.count - 1) {
    error = "'" + input + "': " + std::to_string(r.count) + " values from there run past the largest value";
    return false;
  }
  out = r;
  return true;
}

StreamSpec::StreamSpec() {
  dst_mac.start = 0x020000000002;
  src_mac.start = 0x020000000001;
  src_port.start = 1024;
  dst_port.start = 1024;
  set_default_addresses(IpVersion::v4);
}

void StreamSpec::set_default_addresses(IpVersion version) {
  if (version == IpVersion::v4) {
    src_ip.start = 0xC6120001;  // 198.18.0.1 (RFC 2544)
    dst_ip.start = 0xC6120002;
  } else {
    const unsigned __int128 prefix = static_cast<unsigned __int128>(0x20010002) << 96;  // 2001:2::/48 (RFC 5180)
    src_ip.start = prefix | 1;
    dst_ip.start = prefix | 2;
  }
  src_ip.count = dst_ip.count = 1;
}

bool parse_pacing(const std::string& text, Pacing& out, std::string& error) {
  Pacing p;
  uint64_t burst = 0;
  if (text == "constant") {
    p.mode = PacingMode::constant;
  } else if (text == "poisson") {
    p.mode = PacingMode::poisson;
  } else if (text.rfind("burst:", 0) == 0 && parse_whole(text.substr(6), 1, 65536, burst)) {
    p.mode = PacingMode::burst;
    p.burst = static_cast<uint32_t>(burst);
  } else {
    error = "'" + text + "' is not a pacing: constant, poisson or burst:N (N from 1 to 65536)";
    return false;
  }
  out = p;
  return true;
}

bool parse_ip_version(const std::string& text, IpVersion& out, std::string& error) {
  if (text == "4" || text == "ipv4") out = IpVersion::v4;
  else if (text == "6" || text == "ipv6") out = IpVersion::v6;
  else {
    error = "'" + text + "' is not an IP version: 4 or 6";
    return false;
  }
  return true;
}

bool parse_transport(const std::string& text, Transport& out, std::string& error) {
  if (text == "udp") out = Transport::udp;
  else if (text == "tcp-syn") out = Transport::tcp_syn;
  else {
    error = "'" + text + "' is not a transport: udp or tcp-syn";
    return false;
  }
  return true;
}

std::string to_text(IpVersion v) { return v == IpVersion::v4 ? "ipv4" : "ipv6"; }
std::string to_text(Transport t) { return t == Transport::udp ? "udp" : "tcp-syn"; }
std::string to_text(PacingMode m) {
  return m == PacingMode::constant ? "constant" : m == PacingMode::poisson ? "poisson" : "burst";
}

std::string to_text(const SizeSpec& s) {
  if (s.imix) return "imix";
  switch (s.kind) {
    case SizeSpec::Kind::fixed: return std::to_string(s.min);
    case SizeSpec::Kind::range: return std::to_string(s.min) + "-" + std::to_string(s.max);
    case SizeSpec::Kind::mix: break;
  }
  std::string out;
  for (const auto& share : s.mix) {
    if (!out.empty()) out.append(",");
    out.append(std::to_string(share.size)).append(":").append(std::to_string(share.weight));
  }
  return out;
}

std::string to_text(const FieldRange& r, FieldKind kind) {
  char text[64];
  switch (kind) {
    case FieldKind::mac: {
      uint8_t b[6];
      field_value(r, 0, b, 6);
      std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
      break;
    }
    case FieldKind::ipv4: {
      in_addr a{htonl(static_cast<uint32_t>(r.start))};
      inet_ntop(AF_INET, &a, text, sizeof text);
      break;
    }
    case FieldKind::ipv6: {
      in6_addr a{};
      field_value(r, 0, a.s6_addr, 16);
      inet_ntop(AF_INET6, &a, text, sizeof text);
      break;
    }
    case FieldKind::port:
      std::snprintf(text, sizeof text, "%u", static_cast<unsigned>(r.start));
      break;
  }
  std::string out = r.mode == FieldMode::random ? "random:" : "";
  out.append(text);
  if (r.count > 1) out.append("+").append(std::to_string(r.count));
  return out;
}

}  // namespace pkio::gen
