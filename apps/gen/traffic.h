// pkio-gen's traffic description: streams of frames (protocols, sizes, field ranges, 802.1Q)
// and how to pace them. The command line describes one stream; a profile file several.
// The text forms here are shared by both, so "--size imix" and `size = "imix"` mean the same.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pkio::gen {

enum class IpVersion : uint8_t { v4, v6 };
enum class Transport : uint8_t { udp, tcp_syn };

/// Frame sizes of a stream, in bytes as the frame leaves the port (an 802.1Q tag included, the
/// FCS not): one size, a uniform random range, or a weighted mix (IMIX) sent in exactly those
/// proportions.
struct SizeSpec {
  struct Share {
    uint32_t size;
    uint32_t weight;
  };
  enum class Kind : uint8_t { fixed, range, mix } kind = Kind::fixed;
  uint32_t min = 64;          ///< smallest size (the size, for fixed)
  uint32_t max = 64;          ///< largest size
  std::vector<Share> mix;     ///< for Kind::mix
  bool imix = false;          ///< given as "imix" (see imix_text)
  [[nodiscard]] double mean() const noexcept;
};

/// Simple IMIX (the classic Internet mix, 7:4:1) as frames leave the port without FCS: 60,
/// 590 and 1514 bytes, which carry IP packets of 46, 576 and 1500 bytes. With an 802.1Q tag
/// the two smaller frames grow by the tag (64, 594) and the largest stays 1514, the most a
/// 1500-byte MTU takes with a tag (OID_GEN_MAXIMUM_TOTAL_SIZE less the tag, contract R26).
inline constexpr const char* imix_text = "60:7,590:4,1514:1";
inline constexpr const char* imix_tagged_text = "64:7,594:4,1514:1";

/// Parses "64", a range "64-1514" or a mix "60:7,590:4,1514:1" (or "imix"). Sizes from 60 to
/// 9014, each the frame as it leaves the port (an 802.1Q tag included, the FCS not). False
/// with `error` naming the problem.
bool parse_size_spec(const std::string& text, SizeSpec& out, std::string& error);

/// How a header field changes from one frame of a stream to the next.
enum class FieldMode : uint8_t { increment, random };

/// A header field's values: `count` consecutive values from `start` (count 1: fixed), taken in
/// turn or at random. Values are big-endian integers `width` bytes wide (6: MAC, 4: IPv4
/// address, 16: IPv6 address, 2: port).
struct FieldRange {
  unsigned __int128 start = 0;
  uint64_t count = 1;
  FieldMode mode = FieldMode::increment;
  [[nodiscard]] bool varies() const noexcept { return count > 1; }
};

enum class FieldKind : uint8_t { mac, ipv4, ipv6, port };

/// Parses "VALUE", "VALUE+COUNT" or "random:VALUE+COUNT": VALUE is a MAC (02:00:00:00:00:01),
/// an IPv4 or IPv6 address, or a port number, as `kind` says; the range must not run past the
/// largest value of the field. False with `error` naming the problem.
bool parse_field_range(const std::string& text, FieldKind kind, FieldRange& out, std::string& error);

/// Writes value number `k` (0 <= k < count) of `range` as `width` big-endian bytes.
inline void field_value(const FieldRange& range, uint64_t k, uint8_t* out, unsigned width) noexcept {
  unsigned __int128 v = range.start + k;
  for (unsigned i = 0; i < width && i < 16; ++i) {
    out[width - 1 - i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

/// One stream: a kind of frame and its share of the packets.
struct StreamSpec {
  std::string name = "stream0";
  uint32_t weight = 1;              ///< share of packets against the other streams
  IpVersion ip = IpVersion::v4;
  Transport transport = Transport::udp;
  SizeSpec size;
  uint16_t vlan = 0;                ///< 802.1Q VLAN id (0 with priority 0: untagged)
  uint8_t priority = 0;             ///< 802.1p priority
  FieldRange dst_mac, src_mac, src_ip, dst_ip, src_port, dst_port;
  StreamSpec();                     ///< RFC 2544 / RFC 5180 benchmarking addresses
  /// Sets the defaults of the addresses for `ip` (198.18.0.1/2, or 2001:2::1/2).
  void set_default_addresses(IpVersion version);
};

/// How sends are spread in time once a rate is set.
enum class PacingMode : uint8_t { constant, poisson, burst };
struct Pacing {
  PacingMode mode = PacingMode::constant;
  uint32_t burst = 1;  ///< packets back to back per burst (PacingMode::burst)
};

/// Parses "constant", "poisson" or "burst:N". False with `error` naming the problem.
bool parse_pacing(const std::string& text, Pacing& out, std::string& error);

/// Parses "4"/"6" (or "ipv4"/"ipv6") and "udp"/"tcp-syn".
bool parse_ip_version(const std::string& text, IpVersion& out, std::string& error);
bool parse_transport(const std::string& text, Transport& out, std::string& error);

std::string to_text(IpVersion v);
std::string to_text(Transport t);
std::string to_text(const SizeSpec& s);
std::string to_text(PacingMode m);
std::string to_text(const FieldRange& r, FieldKind kind);

}  // namespace pkio::gen
