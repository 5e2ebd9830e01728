// pkio-gen's options: from the command line (CLI11) and a traffic profile (TOML, toml++),
// checked, explained by --help. A profile sets the defaults; options given on the command
// line override it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "traffic.h"

namespace pkio::gen {

/// What to send and how fast. Every field has a default that needs no hardware.
struct Options {
  std::string port = "0";          ///< port number or device name
  uint16_t queues = 1;             ///< TX queues, one sending thread each
  uint64_t count = 0;              ///< packets to send (0: no limit)
  double duration_s = 0;           ///< seconds to send (0: no limit, asked for; default 5 if count is 0 too)
  std::vector<StreamSpec> streams = {StreamSpec{}};  ///< at least one
  double rate_pps = 0;             ///< packets/s (0: as fast as possible)
  double rate_percent = 0;         ///< percent of link speed, resolved once the port is up
  double rate_bps = 0;             ///< bits/s on the wire (frame + 20 bytes preamble and gap)
  std::string rate_text;           ///< the rate as given (for reports)
  Pacing pacing;                   ///< how sends spread in time at a set rate
  uint32_t batch = 32;             ///< OID_GEN_MAXIMUM_SEND_PACKETS
  uint32_t window = 0;             ///< most packets in flight (0: no limit but the pool)
  uint32_t pool = 4096;            ///< packets per queue
  uint32_t first_flow = 0;         ///< the flow number of queue 0's first stream (pkio-ndr: one range per trial)
  bool copy = false;               ///< complete on acceptance (copy) instead of on free
  uint16_t mtu = 0;                ///< port MTU to configure (OID_GEN_MAXIMUM_FRAME_SIZE); 0: the PMD's
  std::string pcap;                ///< replay this capture instead of the streams
  uint64_t loops = 1;              ///< passes over the capture (0: until count/duration)
  double replay_speed = 0;         ///< 0: as fast as possible; 1: recorded timing; 2: twice as fast
  std::string rx_port;             ///< receive here and report loss, order, latency (empty: no)
  std::string json;                ///< write the JSON report here
  std::string csv;                 ///< write one line per completed packet here
  std::string profile;             ///< the profile file these came from, if any
  bool streams_from_defaults = true;  ///< no [[stream]] table set the streams
  bool duration_from_profile = false; ///< the profile said how long (or how many)
  bool quiet = false;              ///< no progress lines
  bool progress_json = false;      ///< progress as one JSON object per line (--progress json)
  std::string metrics;             ///< serve Prometheus metrics here (ADDR:PORT; empty: no)
  double metrics_linger_s = 1;     ///< keep serving the final counts this long after the run

  /// Largest frame of any stream.
  [[nodiscard]] uint32_t largest_frame() const noexcept;
  /// Mean frame size over the streams' shares (for bit rates).
  [[nodiscard]] double mean_frame() const noexcept;
  /// True if any stream asks for 802.1Q tags.
  [[nodiscard]] bool tagged() const noexcept;
};

/// Parses the application arguments (after "--"), reading --profile first if given. Returns
/// nullopt and sets `exit_code` when the program should stop: 0 after --help or --version,
/// 2 with a one-line `error` for bad input.
std::optional<Options> parse_options(const std::vector<std::string>& args, int& exit_code,
                                     std::string& error, std::string& help_text);

/// Parses a rate: "1000000" or "1.5Mpps" (packets/s), "10Gbps" / "500Mbps" (bits/s),
/// "50%" (of link speed): finite, above 0, at most 10^10 packets/s, 10^13 bit/s or 100 %.
/// Returns false for anything else.
bool parse_rate(const std::string& text, Options& out);

/// Largest profile read (bytes), and deepest nesting of arrays, tables or dotted keys in one.
inline constexpr std::size_t max_profile_bytes = 1 << 20;
inline constexpr uint32_t max_profile_nesting = 32;

/// Reads a traffic profile into `out` (see config/profiles/*.toml): a regular file of at most
/// max_profile_bytes. False with a one-line
/// `error` naming the file, the line and the problem (unknown keys are problems too).
bool load_profile(const std::string& path, Options& out, std::string& error);

/// Reads a traffic profile from `text` (the contents of the file `path`, named in errors).
bool load_profile_text(std::string_view text, const std::string& path, Options& out, std::string& error);

/// Checks what the options say together (sizes against the headers, replay against queues).
bool check_options(const Options& o, std::string& error);

}  // namespace pkio::gen
