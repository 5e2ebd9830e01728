#include "options.h"

#include <CLI/CLI.hpp>

#include <cstdlib>

#include "version.h"

namespace pkio::gen {

namespace {
bool parse_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end != nullptr && *end == '\0' && value >= 0;
}
}  // namespace

bool parse_rate(const std::string& text, Options& out) {
  out.rate_pps = out.rate_bps = out.rate_percent = 0;
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

bool parse_size(const std::string& text, Options& out) {
  const auto dash = text.find('-');
  double a, b;
  if (dash == std::string::npos) {
    if (!parse_number(text, a)) return false;
    b = a;
  } else if (!parse_number(text.substr(0, dash), a) || !parse_number(text.substr(dash + 1), b)) {
    return false;
  }
  if (a < 60 || b > 9018 || a > b || a != static_cast<uint32_t>(a) || b != static_cast<uint32_t>(b))
    return false;
  out.size_min = static_cast<uint32_t>(a);
  out.size_max = static_cast<uint32_t>(b);
  return true;
}

std::optional<Options> parse_options(const std::vector<std::string>& args, int& exit_code,
                                     std::string& error, std::string& help_text) {
  Options o;
  CLI::App app{
      "pkio-gen: a packet generator on pkio that knows what happened to every packet.\n"
      "Usage: pkio-gen [EAL args] -- [options]. With no EAL args it sends on net_null\n"
      "(--no-huge --no-shconf -m 256 --no-pci --vdev=net_null0).",
      "pkio-gen"};
  app.set_version_flag("--version", PKIO_VERSION);
  std::string size = "64", rate;
  app.add_option("--port", o.port, "port number or device name (e.g. 0, net_null0)")->capture_default_str();
  app.add_option("--queues", o.queues, "TX queues, one sending thread each")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--count", o.count, "packets to send in all (0: no limit)");
  app.add_option("--duration", o.duration_s, "seconds to send (default 5 when neither --count nor --duration is given)")
      ->check(CLI::Range(0.0, 1e7));
  app.add_option("--size", size, "frame size in bytes without FCS, or a range A-B (random per packet)")->capture_default_str();
  app.add_option("--rate", rate, "rate: N or Npps/kpps/Mpps, bits/s as bps/Mbps/Gbps (frame + 20 bytes), or N% of link speed; default: as fast as possible");
  app.add_option("--batch", o.batch, "OID_GEN_MAXIMUM_SEND_PACKETS: packets per miniport call")->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--window", o.window, "at most this many packets sent and not yet completed (0: no limit)");
  app.add_option("--pool", o.pool, "packets per queue (memory is fixed by this)")->check(CLI::Range(64, 1 << 20))->capture_default_str();
  app.add_flag("--copy", o.copy, "copy frames into mbufs and complete on acceptance, instead of zero-copy completion when the PMD frees them");
  app.add_option("--vlan", o.vlan, "802.1Q VLAN id")->check(CLI::Range(0, 4095));
  app.add_option("--priority", o.priority, "802.1p priority")->check(CLI::Range(0, 7));
  app.add_option("--json", o.json, "write a JSON report to FILE");
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
    exit_code = 2;
    return std::nullopt;
  }
  if (!parse_size(size, o)) {
    error = "--size: '" + size + "' is not a frame size from 60 to 9018 or a range A-B";
    exit_code = 2;
    return std::nullopt;
  }
  if (!rate.empty() && !parse_rate(rate, o)) {
    error = "--rate: '" + rate + "' is not a rate (examples: 1000000, 2.5Mpps, 10Gbps, 50%)";
    exit_code = 2;
    return std::nullopt;
  }
  if (o.count == 0 && o.duration_s == 0) o.duration_s = 5;
  return o;
}

}  // namespace pkio::gen
