#include "options.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>

#include "frames.h"
#include <pkio/version.h>

namespace pkio::gen {

namespace {
bool parse_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end != nullptr && *end == '\0' && value >= 0;
}

/// Finds --profile's value before the full parse, so the profile can set the defaults.
std::string profile_argument(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--profile" && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind("--profile=", 0) == 0) return args[i].substr(10);
  }
  return "";
}
}  // namespace

uint32_t Options::largest_frame() const noexcept {
  uint32_t m = 0;
  for (const auto& s : streams) m = std::max(m, s.size.max);
  return m;
}

double Options::mean_frame() const noexcept {
  double total = 0, weights = 0;
  for (const auto& s : streams) {
    total += s.size.mean() * s.weight;
    weights += s.weight;
  }
  return weights > 0 ? total / weights : 64;
}

bool Options::tagged() const noexcept {
  return std::any_of(streams.begin(), streams.end(), [](const StreamSpec& s) { return s.vlan != 0 || s.priority != 0; });
}

bool parse_rate(const std::string& text, Options& out) {
  out.rate_pps = out.rate_bps = out.rate_percent = 0;
  out.rate_text = text;
  struct Unit {
    const char* suffix;
    double scale;
    double Options::*field;
  };
  static const Unit units[] = {
      {"Mpps", 1e6, &Options::rate_pps}, {"kpps", 1e3, &Options::rate_pps},
      {"pps", 1, &Options::rate_pps},    {"Gbps", 1e9, &Options::rate_bps},
      {"Mbps", 1e6, &Options::rate_bps}, {"kbps", 1e3, &Options::rate_bps},
      {"bps", 1, &Options::rate_bps},    {"%", 1, &Options::rate_percent},
  };
  for (const Unit& u : units) {
    const std::string suffix = u.suffix;
    if (text.size() > suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0) {
      double v;
      if (!parse_number(text.substr(0, text.size() - suffix.size()), v) || v <= 0) return false;
      out.*(u.field) = v * u.scale;
      return !(u.field == &Options::rate_percent && v > 100);
    }
  }
  double v;
  if (!parse_number(text, v) || v <= 0) return false;
  out.rate_pps = v;
  return true;
}

bool check_options(const Options& o, std::string& error) {
  if (o.streams.empty()) {
    error = "no streams to send";
    return false;
  }
  for (const auto& s : o.streams) {
    const FrameLayout layout = layout_of(s.ip, s.transport);
    if (s.size.min < layout.headers()) {
      error = "stream '" + s.name + "': frames of " + std::to_string(s.size.min) + " bytes cannot hold " +
              to_text(s.ip) + "/" + to_text(s.transport) + " headers (at least " + std::to_string(layout.headers()) + ")";
      return false;
    }
    if (s.weight == 0) {
      error = "stream '" + s.name + "': weight must be at least 1";
      return false;
    }
  }
  if (o.streams.size() > 256) {
    error = std::to_string(o.streams.size()) + " streams: at most 256";
    return false;
  }
  if (!o.pcap.empty() && o.queues != 1) {
    error = "--pcap replays on one queue: --queues must be 1";
    return false;
  }
  if (o.pool < 64 * o.streams.size()) {
    error = "--pool " + std::to_string(o.pool) + " is too small for " + std::to_string(o.streams.size()) +
            " streams (64 packets each at least)";
    return false;
  }
  return true;
}

std::optional<Options> parse_options(const std::vector<std::string>& args, int& exit_code,
                                     std::string& error, std::string& help_text) {
  Options o;
  exit_code = 2;
  const std::string profile = profile_argument(args);
  if (!profile.empty() && !load_profile(profile, o, error)) return std::nullopt;

  CLI::App app{
      "pkio-gen: a packet generator on pkio that knows what happened to every packet.\n"
      "Usage: pkio-gen [EAL args] -- [options]. With no EAL args it sends on net_null\n"
      "(--no-huge --no-shconf -m 256 --no-pci --vdev=net_null0).\n"
      "Exit status: 0 done (also after SIGINT/SIGTERM), 1 packets still in flight after the\n"
      "drain timeout, 2 bad options, profile, EAL or port.",
      "pkio-gen"};
  app.set_version_flag("--version", PKIO_VERSION);
  std::string rate, pacing, size, ip, transport, vlan, priority, src_mac, dst_mac, src_ip, dst_ip, src_port, dst_port;
  std::string ignored_profile;
  app.add_option("--profile", ignored_profile, "traffic profile (TOML, see config/profiles/); options given here override it");
  app.add_option("--port", o.port, "port number or device name (e.g. 0, net_null0)")->capture_default_str();
  app.add_option("--queues", o.queues, "TX queues, one sending thread each")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--count", o.count, "packets to send in all (0: no limit)");
  app.add_option("--duration", o.duration_s, "seconds to send (default 5 when neither --count nor --duration is given)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--rate", rate, "rate: N or Npps/kpps/Mpps, bits/s as bps/Mbps/Gbps (frame + 24 bytes of preamble, gap and FCS), or N% of link speed; default: as fast as possible");
  app.add_option("--pacing", pacing, "at a set rate: constant (default), poisson (exponential gaps) or burst:N (N back to back)");
  app.add_option("--batch", o.batch, "OID_GEN_MAXIMUM_SEND_PACKETS: packets per miniport call")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--window", o.window, "at most this many packets sent and not yet completed (0: no limit)");
  app.add_option("--pool", o.pool, "packets per queue (memory is fixed by this)")->check(CLI::Range(64, 1 << 20))->capture_default_str();
  app.add_option("--mtu", o.mtu, "configure the port's MTU (68-9000, e.g. 9000 for jumbo frames; default: the PMD's, usually 1500)")
      ->check(CLI::Range(68, 9000));
  app.add_flag("--copy", o.copy, "copy frames into mbufs and complete on acceptance, instead of zero-copy completion when the PMD frees them");
  // Stream options: for every stream of a profile, or the one stream without a profile.
  app.add_option("--size", size, "frame size in bytes without FCS (60-9018): N, a range A-B (random per packet), a mix SIZE:WEIGHT,... or imix (" + std::string(imix_text) + "); default 64");
  app.add_option("--ip", ip, "IP version: 4 (default) or 6");
  app.add_option("--l4", transport, "transport: udp (default) or tcp-syn");
  app.add_option("--vlan", vlan, "802.1Q VLAN id (0-4095)");
  app.add_option("--priority", priority, "802.1p priority (0-7)");
  const char* range_help = ": VALUE, VALUE+COUNT (COUNT values in turn) or random:VALUE+COUNT";
  app.add_option("--src-mac", src_mac, std::string("source MAC") + range_help);
  app.add_option("--dst-mac", dst_mac, std::string("destination MAC") + range_help);
  app.add_option("--src-ip", src_ip, std::string("source address (default 198.18.0.1 or 2001:2::1)") + range_help);
  app.add_option("--dst-ip", dst_ip, std::string("destination address (default 198.18.0.2 or 2001:2::2)") + range_help);
  app.add_option("--src-port", src_port, std::string("source port (default 1024, plus the queue number)") + range_help);
  app.add_option("--dst-port", dst_port, std::string("destination port (default 1024)") + range_help);
  app.add_option("--pcap", o.pcap, "replay the frames of this pcap file instead of building frames (one queue)");
  app.add_option("--loops", o.loops, "passes over the --pcap file (0: until --count or --duration)")->capture_default_str();
  app.add_option("--replay-speed", o.replay_speed, "--pcap timing: 0 as fast as possible (default), 1 as recorded, 2 twice as fast")
      ->check(CLI::Range(0.0, 1e6));
  app.add_option("--rx-port", o.rx_port, "also receive on this port (the same one for a net_ring loop) and report loss, reordering, duplicates and latency");
  app.add_option("--json", o.json, "write a JSON report to FILE");
  app.add_option("--csv", o.csv, "write one line per completed packet to FILE (queue>0: FILE.qN); slows sending");
  app.add_flag("--quiet", o.quiet, "no per-second progress lines");
  help_text = app.help();
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses a reversed vector
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    exit_code = 0;
    return std::nullopt;
  } catch (const CLI::CallForVersion&) {
    help_text = PKIO_VERSION;
    exit_code = 0;
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    error = e.what();
    return std::nullopt;
  }
  const auto bad = [&](const std::string& option, const std::string& why) {
    error = option + ": " + why;
    return std::nullopt;
  };
  if (!rate.empty() && !parse_rate(rate, o))
    return bad("--rate", "'" + rate + "' is not a rate (examples: 1000000, 2.5Mpps, 10Gbps, 50%)");
  std::string why;
  if (!pacing.empty() && !parse_pacing(pacing, o.pacing, why)) return bad("--pacing", why);
  for (auto& s : o.streams) {
    if (!size.empty() && !parse_size_spec(size, s.size, why)) return bad("--size", why);
    if (!ip.empty()) {
      IpVersion v;
      if (!parse_ip_version(ip, v, why)) return bad("--ip", why);
      if (v != s.ip) s.set_default_addresses(v);
      s.ip = v;
    }
    if (!transport.empty() && !parse_transport(transport, s.transport, why)) return bad("--l4", why);
    uint64_t number;
    if (!vlan.empty()) {
      char* end = nullptr;
      number = std::strtoull(vlan.c_str(), &end, 10);
      if (*end != '\0' || vlan[0] == '-' || number > 4095) return bad("--vlan", "'" + vlan + "' is not a VLAN id from 0 to 4095");
      s.vlan = static_cast<uint16_t>(number);
    }
    if (!priority.empty()) {
      char* end = nullptr;
      number = std::strtoull(priority.c_str(), &end, 10);
      if (*end != '\0' || priority[0] == '-' || number > 7) return bad("--priority", "'" + priority + "' is not a priority from 0 to 7");
      s.priority = static_cast<uint8_t>(number);
    }
    const FieldKind ip_kind = s.ip == IpVersion::v4 ? FieldKind::ipv4 : FieldKind::ipv6;
    const struct {
      const std::string& text;
      const char* option;
      FieldKind kind;
      FieldRange& field;
    } fields[] = {{src_mac, "--src-mac", FieldKind::mac, s.src_mac}, {dst_mac, "--dst-mac", FieldKind::mac, s.dst_mac},
                  {src_ip, "--src-ip", ip_kind, s.src_ip},           {dst_ip, "--dst-ip", ip_kind, s.dst_ip},
                  {src_port, "--src-port", FieldKind::port, s.src_port}, {dst_port, "--dst-port", FieldKind::port, s.dst_port}};
    for (const auto& f : fields)
      if (!f.text.empty() && !parse_field_range(f.text, f.kind, f.field, why)) return bad(f.option, why);
  }
  if (o.count == 0 && o.duration_s == 0 && (o.pcap.empty() || o.loops == 0)) o.duration_s = 5;
  if (!check_options(o, error)) return std::nullopt;
  exit_code = 0;
  return o;
}

}  // namespace pkio::gen
