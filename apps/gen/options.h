// pkio-gen's options: parsed from the command line (CLI11), checked, explained by --help.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pkio::gen {

/// What to send and how fast. Every field has a default that needs no hardware.
struct Options {
  std::string port = "0";          ///< port number or device name
  uint16_t queues = 1;             ///< TX queues, one sending thread each
  uint64_t count = 0;              ///< packets to send (0: no limit)
  double duration_s = 0;           ///< seconds to send (0: no limit; default 5 if count is 0 too)
  uint32_t size_min = 64;          ///< frame size in bytes, without FCS
  uint32_t size_max = 64;          ///< == size_min for a fixed size
  double rate_pps = 0;             ///< packets/s (0: as fast as possible)
  double rate_percent = 0;         ///< percent of link speed, resolved once the port is up
  double rate_bps = 0;             ///< bits/s on the wire (frame + 20 bytes preamble and gap)
  uint32_t batch = 32;             ///< OID_GEN_MAXIMUM_SEND_PACKETS
  uint32_t window = 0;             ///< most packets in flight (0: no limit but the pool)
  uint32_t pool = 4096;            ///< packets per queue
  bool copy = false;               ///< complete on acceptance (copy) instead of on free
  uint16_t vlan = 0;               ///< 802.1Q VLAN id (0: untagged unless priority is set)
  uint8_t priority = 0;            ///< 802.1p priority
  std::string json;                ///< write the JSON report here
  bool quiet = false;              ///< no progress lines
};

/// Parses the application arguments (after "--"). Returns nullopt and sets `exit_code` when
/// the program should stop: 0 after --help or --version, 2 with `error` set for bad input.
std::optional<Options> parse_options(const std::vector<std::string>& args, int& exit_code,
                                     std::string& error, std::string& help_text);

/// Parses a rate: "1000000" or "1.5Mpps" (packets/s), "10Gbps" / "500Mbps" (bits/s),
/// "50%" (of link speed). Returns false for anything else.
bool parse_rate(const std::string& text, Options& out);

/// Parses a frame size: "64" or a range "64-1518". Returns false outside 60..9018 (60: the Ethernet minimum without FCS).
bool parse_size(const std::string& text, Options& out);

}  // namespace pkio::gen
