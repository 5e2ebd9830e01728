#include "report.h"

#include <algorithm>
#include <cmath>

#include "text.h"

namespace pkio::ndr {

using apps::format;

// Rates to the packet per second (six decimals of Mpps): the search's steps at a kernel DUT's
// ten thousand packets per second are a few tens of pps, which four decimals would hide.
std::string trial_line(const Trial& t) {
  std::string line = format("[%4u B] trial %2u %-10s %10.6f Mpps intended, offered %10.6f, received %10.6f, lost %llu (%.4f %%)",
                            t.frame_size, t.index, t.kind.c_str(), t.intended_pps / 1e6, t.offered_pps / 1e6,
                            t.received_pps / 1e6, static_cast<unsigned long long>(t.lost), 100 * t.loss_ratio());
  line += t.valid ? ", valid" : ", INVALID: " + t.invalid_reason;
  if (t.received) line += format(", one-way p50 %.1f us", t.latency_p50_ns / 1e3);
  return line;
}

std::string result_line(const SizeResult& r, double pdr) {
  const auto one = [&](const char* name, const Found& f) {
    return format("%s %.6f Mpps (%.3f Gbit/s on the wire, loss %.4f %%, limited by %s%s)", name, f.pps / 1e6,
                  wire_bps(f.pps, r.frame_size) / 1e9, 100 * f.loss_ratio, f.limited_by.c_str(),
                  f.confirmed ? ", confirmed" : f.pps > 0 ? ", NOT confirmed by a final trial" : "");
  };
  return format("%u B: ", r.frame_size) + one("NDR", r.ndr) + "; " + one(format("PDR(%g %%)", pdr * 100).c_str(), r.pdr) +
         format("; %zu trials%s", r.trials.size(), r.interrupted ? "; STOPPED before the search ended" : "");
}

nlohmann::json trial_json(const Trial& t) {
  return {{"index", t.index}, {"kind", t.kind}, {"frame_size", t.frame_size}, {"intended_pps", t.intended_pps},
          {"seconds", t.seconds}, {"intended", t.intended}, {"offered", t.offered}, {"failed", t.failed},
          {"received", t.received}, {"lost", t.lost}, {"loss_ratio", t.loss_ratio()}, {"duplicated", t.duplicated},
          {"reordered", t.reordered}, {"duration_s", t.duration_s}, {"offered_pps", t.offered_pps},
          {"received_pps", t.received_pps}, {"valid", t.valid},
          {"invalid_reason", t.valid ? nlohmann::json(nullptr) : nlohmann::json(t.invalid_reason)},
          {"latency_ns", {{"p50", t.latency_p50_ns}, {"p99", t.latency_p99_ns}, {"max", t.latency_max_ns}}}};
}

nlohmann::json result_json(const SizeResult& r) {
  const auto found = [&](const Found& f) {
    return nlohmann::json{{"pps", f.pps}, {"gbps", wire_bps(f.pps, r.frame_size) / 1e9}, {"loss_ratio", f.loss_ratio},
                          {"limited_by", f.limited_by}, {"confirmed", f.confirmed},
                          {"upper_pps", f.upper_pps > 0 ? nlohmann::json(f.upper_pps) : nlohmann::json(nullptr)},
                          {"trial", f.trial}};
  };
  nlohmann::json j{{"frame_size", r.frame_size}, {"max_rate_pps", r.max_rate_pps}, {"ndr", found(r.ndr)},
                   {"pdr", found(r.pdr)}, {"interrupted", r.interrupted}};
  j["trials"] = nlohmann::json::array();
  for (const Trial& t : r.trials) j["trials"].push_back(trial_json(t));
  nlohmann::json latency = nlohmann::json::array(), curve = nlohmann::json::array();
  for (const Trial& t : r.trials) {
    if (t.kind == "latency")
      latency.push_back({{"load_of_ndr", r.ndr.pps > 0 ? t.intended_pps / r.ndr.pps : 0}, {"pps", t.intended_pps},
                         {"valid", t.valid}, {"latency_ns", trial_json(t)["latency_ns"]}, {"trial", t.index}});
    if (t.kind == "loss_curve")
      curve.push_back({{"load_of_max", t.intended_pps / r.max_rate_pps}, {"pps", t.intended_pps},
                       {"loss_ratio", t.loss_ratio()}, {"valid", t.valid}, {"trial", t.index}});
  }
  j["latency"] = latency;
  if (!curve.empty()) j["loss_curve"] = curve;
  return j;
}

std::string csv_header() {
  return "frame_size,trial,kind,intended_pps,seconds,intended,offered,failed,received,lost,loss_ratio,duplicated,"
         "reordered,duration_s,offered_pps,received_pps,valid,invalid_reason,latency_p50_ns,latency_p99_ns\n";
}

std::string csv_rows(const SizeResult& r) {
  std::string out;
  for (const Trial& t : r.trials) {
    std::string reason = t.invalid_reason;
    std::replace(reason.begin(), reason.end(), ',', ';');
    out += format("%u,%u,%s,%.3f,%.3f,%llu,%llu,%llu,%llu,%llu,%.9f,%llu,%llu,%.6f,%.3f,%.3f,%d,%s,%.1f,%.1f\n", t.frame_size,
                  t.index, t.kind.c_str(), t.intended_pps, t.seconds, static_cast<unsigned long long>(t.intended),
                  static_cast<unsigned long long>(t.offered), static_cast<unsigned long long>(t.failed),
                  static_cast<unsigned long long>(t.received), static_cast<unsigned long long>(t.lost), t.loss_ratio(),
                  static_cast<unsigned long long>(t.duplicated), static_cast<unsigned long long>(t.reordered), t.duration_s,
                  t.offered_pps, t.received_pps, t.valid ? 1 : 0, reason.c_str(), t.latency_p50_ns, t.latency_p99_ns);
  }
  return out;
}

std::string search_svg(const std::vector<SizeResult>& results, double pdr) {
  // Two panels per frame size: offered load (and intended) by trial, and loss ratio (log
  // scale) against offered load. Plain SVG, no scripts.
  const int w = 900, panel_h = 260, gap = 60;
  const int h = static_cast<int>(results.size()) * (panel_h + gap) + 40;
  std::string s = format("<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif' font-size='12'>\n", w, h);
  s += "<rect width='100%' height='100%' fill='white'/>\n";
  int y0 = 30;
  for (const SizeResult& r : results) {
    const double top = std::max(r.max_rate_pps, 1.0);
    const size_t n = std::max<size_t>(r.trials.size(), 1);
    const int left = 60, pw = 380, right0 = 510;
    s += format("<text x='%d' y='%d' font-weight='bold'>%u-byte frames: NDR %.4f Mpps (%s), PDR %.4f Mpps (%s)</text>\n", left,
                y0 - 10, r.frame_size, r.ndr.pps / 1e6, r.ndr.limited_by.c_str(), r.pdr.pps / 1e6, r.pdr.limited_by.c_str());
    s += format("<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#888'/>\n", left, y0, pw, panel_h);
    s += format("<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#888'/>\n", right0, y0, pw, panel_h);
    s += format("<text x='%d' y='%d'>offered Mpps by trial (max %.3f)</text>\n", left, y0 + panel_h + 16, top / 1e6);
    s += format("<text x='%d' y='%d'>loss ratio (log, 1e-7 .. 1) against offered Mpps; PDR %g</text>\n", right0,
                y0 + panel_h + 16, pdr);
    const auto ypps = [&](double pps) { return y0 + panel_h - static_cast<int>(panel_h * std::min(pps / top, 1.0)); };
    const auto yloss = [&](double loss) {
      const double l = std::clamp(std::log10(std::max(loss, 1e-7)), -7.0, 0.0);
      return y0 + panel_h - static_cast<int>(panel_h * (l + 7) / 7);
    };
    if (r.ndr.pps > 0)
      s += format("<line x1='%d' x2='%d' y1='%d' y2='%d' stroke='green' stroke-dasharray='4'/>\n", left, left + pw,
                  ypps(r.ndr.pps), ypps(r.ndr.pps));
    for (size_t i = 0; i < r.trials.size(); ++i) {
      const Trial& t = r.trials[i];
      const int x = left + static_cast<int>((i + 0.5) * pw / n);
      const char* colour = !t.valid ? "orange" : t.lost == 0 ? "green" : t.loss_ratio() <= pdr ? "steelblue" : "red";
      s += format("<circle cx='%d' cy='%d' r='4' fill='none' stroke='#aaa'><title>intended %.4f Mpps</title></circle>\n", x,
                  ypps(t.intended_pps), t.intended_pps / 1e6);
      s += format("<circle cx='%d' cy='%d' r='4' fill='%s'><title>trial %u (%s): offered %.4f Mpps, loss %.4g%s</title></circle>\n",
                  x, ypps(t.offered_pps), colour, t.index, t.kind.c_str(), t.offered_pps / 1e6, t.loss_ratio(),
                  t.valid ? "" : (", invalid: " + t.invalid_reason).c_str());
      const int lx = right0 + static_cast<int>(pw * std::min(t.offered_pps / top, 1.0));
      s += format("<circle cx='%d' cy='%d' r='4' fill='%s'><title>trial %u: %.4f Mpps, loss %.4g</title></circle>\n", lx,
                  yloss(t.loss_ratio()), colour, t.index, t.offered_pps / 1e6, t.loss_ratio());
    }
    y0 += panel_h + gap;
  }
  s += format("<text x='60' y='%d' fill='#555'>green: no loss; blue: within PDR; red: above; orange: invalid (the sender could not offer the load); grey rings: intended</text>\n", h - 8);
  s += "</svg>\n";
  return s;
}

}  // namespace pkio::ndr
