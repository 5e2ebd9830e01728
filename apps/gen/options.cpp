#include "options.h"

#include <pkio/metrics.h>


#include <algorithm>
#include <cstdlib>

#include "command_line.h"
#include "frames.h"
#include "validate.h"
#include <pkio/version.h>

namespace pkio::gen {

namespace {
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
    double most;  // of the number before the unit
  };
  static const Unit units[] = {
      {"Mpps", 1e6, &Options::rate_pps, 1e4},  {"kpps", 1e3, &Options::rate_pps, 1e7},
      {"pps", 1, &Options::rate_pps, 1e10},    {"Gbps", 1e9, &Options::rate_bps, 1e4},
      {"Mbps", 1e6, &Options::rate_bps, 1e7},  {"kbps", 1e3, &Options::rate_bps, 1e10},
      {"bps", 1, &Options::rate_bps, 1e13},    {"%", 1, &Options::rate_percent, 100},
      {"", 1, &Options::rate_pps, 1e10},
  };
  for (const Unit& u : units) {
    const std::string suffix = u.suffix;
    if (text.size() <= suffix.size() || text.compare(text.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const auto v = apps::parse_positive_real("--rate", text.substr(0, text.size() - suffix.size()), u.most);
    if (!v) return false;
    out.*(u.field) = *v * u.scale;
    return true;
  }
  return false;
}

bool check_options(const Options& o, std::string& error) {
  if (o.streams.empty()) {
    error = "no streams to send";
    return false;
  }
  for (const auto& s : o.streams) {
    const FrameLayout layout = layout_of(s.ip, s.transport);
    const uint32_t tag = s.vlan != 0 || s.priority != 0 ? 4 : 0;
    if (s.size.min < layout.headers() + tag) {
      error = "stream '" + s.name + "': frames of " + std::to_string(s.size.min) + " bytes cannot hold " +
              to_text(s.ip) + "/" + to_text(s.transport) + " headers (at least " +
              std::to_string(layout.headers() + tag) + (tag ? " with the tag" : "") + ")";
      return false;
    }
    if ((s.vlan != 0 || s.priority != 0) && s.size.min < 64) {
      error = "stream '" + s.name + "': a tagged frame is at least 64 bytes (60 and its 4-byte 802.1Q tag), not " +
              std::to_string(s.size.min);
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
  exit_code = apps::exit_status::bad_input;
  const auto refuse = [&](const std::string& why) -> std::optional<Options> {
    error = apps::one_line(why);
    return std::nullopt;
  };
  const std::string profile = profile_argument(args);
  if (!profile.empty() && !load_profile(profile, o, error)) return refuse(error);

  apps::CommandLine cl("pkio-gen",
      "pkio-gen: a packet generator on pkio that knows what happened to every packet.\n"
      "Usage: pkio-gen [EAL args] -- [options]. With no EAL args it sends on net_null\n"
      "(--no-huge --no-shconf -m 256 --no-pci --vdev=net_null0).\n" + std::string(apps::exit_status_help));
  cl.option("--profile", "traffic profile (TOML, see config/profiles/); options given here override it");
  cl.option("--port", "port number or device name (e.g. 0, net_null0)", "0");
  cl.option("--queues", "TX queues, one sending thread each (1-64)", "1");
  cl.option("--count", "packets to send in all (1 to 10^15)");
  cl.option("--duration", "seconds to send (at most 10^7; 0: until a signal stops it); default 5 when neither --count nor --duration is given");
  cl.option("--rate", "rate: N or Npps/kpps/Mpps, bits/s as bps/Mbps/Gbps (frame + 24 bytes of preamble, gap and FCS), or N% of link speed; default: as fast as possible");
  cl.option("--pacing", "at a set rate: constant (default), poisson (exponential gaps) or burst:N (N back to back)");
  cl.option("--batch", "OID_GEN_MAXIMUM_SEND_PACKETS: packets per miniport call (1-1024)", "32");
  cl.option("--window", "at most this many packets sent and not yet completed (0: no limit)", "0");
  cl.option("--pool", "packets per queue, 64 to 1048576 (memory is fixed by this)", "4096");
  cl.option("--mtu", "configure the port's MTU (68-9000, e.g. 9000 for jumbo frames; default: the PMD's, usually 1500)");
  cl.flag("--copy", "copy frames into mbufs and complete on acceptance, instead of zero-copy completion when the PMD frees them");
  // Stream options: for every stream of a profile, or the one stream without a profile.
  cl.option("--size", "frame size in bytes as it leaves the port, 802.1Q tag included, FCS not (60-9014, at most the port's MTU + 14; with a tag at least 64): N, a range A-B (random per packet), a mix SIZE:WEIGHT,... or imix (" + std::string(imix_text) + "; with a tag " + imix_tagged_text + "); default 64");
  cl.option("--ip", "IP version: 4 (default) or 6");
  cl.option("--l4", "transport: udp (default) or tcp-syn");
  cl.option("--vlan", "802.1Q VLAN id (0-4095)");
  cl.option("--priority", "802.1p priority (0-7)");
  const std::string range_help = ": VALUE, VALUE+COUNT (COUNT values in turn) or random:VALUE+COUNT";
  cl.option("--src-mac", "source MAC" + range_help);
  cl.option("--dst-mac", "destination MAC" + range_help);
  cl.option("--src-ip", "source address (default 198.18.0.1 or 2001:2::1)" + range_help);
  cl.option("--dst-ip", "destination address (default 198.18.0.2 or 2001:2::2)" + range_help);
  cl.option("--src-port", "source port (default 1024, plus the queue number)" + range_help);
  cl.option("--dst-port", "destination port (default 1024)" + range_help);
  cl.option("--pcap", "replay the frames of this pcap file instead of building frames (one queue; no stream options)");
  cl.option("--loops", "passes over the --pcap file (0: until --count or --duration)", "1");
  cl.option("--replay-speed", "--pcap timing: 0 as fast as possible (default), 1 as recorded, 2 twice as fast (at most 10^6)");
  cl.option("--rx-port", "also receive on this port (the same one for a net_ring loop) and report loss, reordering, duplicates and latency");
  cl.option("--json", "write a JSON report to FILE (opened before sending starts)");
  cl.option("--csv", "write one line per completed packet to FILE (queue>0: FILE.qN), off the sending path: rows a slow reader cannot take are dropped and counted");
  cl.flag("--quiet", "no per-second progress lines (the same as --progress none)");
  cl.option("--progress", "per-second progress on stdout: text (default), json (one JSON object per line, the summary then on stderr) or none");
  cl.option("--metrics", "serve Prometheus/OpenMetrics text at http://ADDR:PORT/metrics while running (ADDR: an IPv4 address, localhost or *; e.g. localhost:9101)");
  cl.option("--metrics-linger", "with --metrics: seconds to keep serving the final counts after the run (0-3600)", "1");
  help_text = cl.help();
  const auto parsed = cl.parse(args);
  if (!parsed) return refuse(parsed.error().message);
  if (*parsed != apps::CommandLine::Parsed::run) {
    if (*parsed == apps::CommandLine::Parsed::version) help_text = PKIO_VERSION;
    exit_code = apps::exit_status::ok;
    return std::nullopt;
  }
  std::string why;
  // Every value through the one validation layer; a given empty value is an error, never "not given".
  const auto whole = [&](const char* name, auto& field, uint64_t lo, uint64_t hi) {
    if (!cl.given(name)) return true;
    const auto v = apps::parse_whole(name, cl.text(name), lo, hi);
    if (!v) {
      why = v.error().message;
      return false;
    }
    field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
    return true;
  };
  const auto real = [&](const char* name, double& field, double lo, double hi) {
    if (!cl.given(name)) return true;
    const auto v = apps::parse_real(name, cl.text(name), lo, hi);
    if (!v) {
      why = v.error().message;
      return false;
    }
    field = *v;
    return true;
  };
  const auto text = [&](const char* name, std::string& field) {
    if (!cl.given(name)) return true;
    if (cl.text(name).empty()) {
      why = std::string(name) + ": an empty value";
      return false;
    }
    field = cl.text(name);
    return true;
  };
  const bool count_given = cl.given("--count"), duration_given = cl.given("--duration");
  if (!text("--port", o.port) || !whole("--queues", o.queues, 1, 64) || !whole("--count", o.count, 1, 1'000'000'000'000'000) ||
      !real("--duration", o.duration_s, 0, 1e7) || !whole("--batch", o.batch, 1, 1024) ||
      !whole("--window", o.window, 0, 1u << 30) || !whole("--pool", o.pool, 64, 1u << 20) ||
      !whole("--mtu", o.mtu, 68, 9000) || !text("--pcap", o.pcap) || !whole("--loops", o.loops, 0, 1'000'000'000) ||
      !real("--replay-speed", o.replay_speed, 0, 1e6) || !text("--rx-port", o.rx_port) || !text("--json", o.json) ||
      !text("--csv", o.csv))
    return refuse(why);
  if (cl.given("--copy")) o.copy = true;
  if (cl.given("--quiet")) o.quiet = true;
  if (cl.given("--progress")) {
    const std::string& p = cl.text("--progress");
    if (p == "json") o.progress_json = true;
    else if (p == "none") o.quiet = true;
    else if (p != "text") return refuse("--progress: '" + apps::printable(p) + "' is not text, json or none");
  }
  if (cl.given("--metrics")) {
    auto where = metrics::parse_listen_address(cl.text("--metrics"));
    if (!where) return refuse("--metrics: " + apps::printable(where.error().message));
    o.metrics = cl.text("--metrics");
  }
  if (!real("--metrics-linger", o.metrics_linger_s, 0, 3600)) return refuse(why);
  if (cl.given("--rate")) {
    const std::string& rate = cl.text("--rate");
    if (!parse_rate(rate, o))
      return refuse("--rate: '" + apps::printable(rate) +
                    "' is not a rate above 0 (examples: 1000000, 2.5Mpps, 10Gbps, 50% of the link speed)");
  }
  if (cl.given("--pacing") && !parse_pacing(cl.text("--pacing"), o.pacing, why)) return refuse("--pacing: " + why);
  // Stream options override every stream; with a capture to replay they do not apply.
  const char* const stream_options[] = {"--size", "--ip", "--l4", "--vlan", "--priority", "--src-mac",
                                        "--dst-mac", "--src-ip", "--dst-ip", "--src-port", "--dst-port"};
  if (!o.pcap.empty()) {
    for (const char* name : stream_options)
      if (cl.given(name)) return refuse(std::string(name) + ": --pcap replays the capture's frames as they are; stream options do not apply");
    if (o.streams.size() > 1 || !o.streams_from_defaults)
      return refuse("--pcap: the profile " + o.profile + " describes [[stream]]s; a run either replays a capture or sends streams");
  }
  for (auto& s : o.streams) {
    if (cl.given("--size") && !parse_size_spec(cl.text("--size"), s.size, why)) return refuse("--size: " + why);
    if (cl.given("--ip")) {
      IpVersion v;
      if (!parse_ip_version(cl.text("--ip"), v, why)) return refuse("--ip: " + why);
      if (v != s.ip) s.set_default_addresses(v);
      s.ip = v;
    }
    if (cl.given("--l4") && !parse_transport(cl.text("--l4"), s.transport, why)) return refuse("--l4: " + why);
    if (!whole("--vlan", s.vlan, 0, 4095) || !whole("--priority", s.priority, 0, 7)) return refuse(why);
    const FieldKind ip_kind = s.ip == IpVersion::v4 ? FieldKind::ipv4 : FieldKind::ipv6;
    const struct {
      const char* option;
      FieldKind kind;
      FieldRange& field;
    } fields[] = {{"--src-mac", FieldKind::mac, s.src_mac}, {"--dst-mac", FieldKind::mac, s.dst_mac},
                  {"--src-ip", ip_kind, s.src_ip},           {"--dst-ip", ip_kind, s.dst_ip},
                  {"--src-port", FieldKind::port, s.src_port}, {"--dst-port", FieldKind::port, s.dst_port}};
    for (const auto& f : fields)
      if (cl.given(f.option) && !parse_field_range(cl.text(f.option), f.kind, f.field, why))
        return refuse(std::string(f.option) + ": " + why);
  }
  if (!count_given && !duration_given && o.count == 0 && o.duration_s == 0 && !o.duration_from_profile &&
      (o.pcap.empty() || o.loops == 0))
    o.duration_s = 5;
  for (auto& s : o.streams)
    if (s.size.imix && (s.vlan != 0 || s.priority != 0)) {  // imix with a tag: see imix_tagged_text
      (void)parse_size_spec(imix_tagged_text, s.size, why);
      s.size.imix = true;
    }
  if (!check_options(o, error)) return refuse(error);
  exit_code = apps::exit_status::ok;
  return o;
}

}  // namespace pkio::gen
