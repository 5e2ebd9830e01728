#include "svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "text.h"

namespace pkio::maxsend {

namespace {
using apps::format;
const char* colour(size_t i) {
  static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  return colours[i % 4];
}
}  // namespace

std::string plot_svg(const std::vector<ValueResult>& results, const std::vector<Recommendation>& recommended,
                     const SweepOptions& o, const std::string& title) {
  const double width = 800, height = 480, left = 70, right = 70, top = 50, bottom = 60;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  double max_mpps = 0, max_us = o.latency_budget_us;
  for (const auto& v : results) {
    max_mpps = std::max(max_mpps, v.mpps.max);
    max_us = std::max(max_us, v.load_p99_us);
  }
  max_mpps = max_mpps > 0 ? max_mpps * 1.1 : 1;
  max_us *= 1.1;
  const double lo = std::log2(static_cast<double>(*std::min_element(o.values.begin(), o.values.end())));
  const double hi = std::log2(static_cast<double>(*std::max_element(o.values.begin(), o.values.end())));
  auto x_of = [&](uint32_t v) { return left + (hi > lo ? (std::log2(static_cast<double>(v)) - lo) / (hi - lo) : 0.5) * plot_w; };
  auto y_mpps = [&](double m) { return top + plot_h - m / max_mpps * plot_h; };
  auto y_us = [&](double us) { return top + plot_h - us / max_us * plot_h; };

  std::string s = format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                         "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
                         width, height, width, height);
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += format("<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n", width / 2, title.c_str());
  // Axes, ticks and labels.
  s += format("<path d=\"M%.0f %.0f V%.0f H%.0f V%.0f\" fill=\"none\" stroke=\"black\"/>\n", left, top, top + plot_h,
              left + plot_w, top);
  for (uint32_t v : o.values) {
    const double x = x_of(v);
    s += format("<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>", x, top, x, top + plot_h);
    s += format("<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%u</text>\n", x, top + plot_h + 18, v);
  }
  for (int i = 0; i <= 4; ++i) {
    const double f = i / 4.0;
    s += format("<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>", left - 6, top + plot_h - f * plot_h + 4, f * max_mpps);
    s += format("<text x=\"%.0f\" y=\"%.1f\">%.1f</text>\n", left + plot_w + 6, top + plot_h - f * plot_h + 4, f * max_us);
  }
  s += format("<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">OID_GEN_MAXIMUM_SEND_PACKETS</text>\n",
              left + plot_w / 2, height - 15);
  s += format("<text transform=\"translate(18 %.0f) rotate(-90)\" text-anchor=\"middle\">throughput, Mpps (solid)</text>\n",
              top + plot_h / 2);
  s += format("<text transform=\"translate(%.0f %.0f) rotate(90)\" text-anchor=\"middle\">p99 latency at %.0f %% load, us (dashed)</text>\n",
              width - 18, top + plot_h / 2, o.load_fraction * 100);
  s += format("<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"2 4\"/>"
              "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#777\">latency budget</text>\n",
              left, y_us(o.latency_budget_us), left + plot_w, y_us(o.latency_budget_us), left + plot_w - 4,
              y_us(o.latency_budget_us) - 4);
  // One solid line (throughput) and one dashed line (p99 latency) per mode.
  for (size_t m = 0; m < o.modes.size(); ++m) {
    std::string tput, lat, fit;
    for (const auto& v : results) {
      if (v.mode != o.modes[m]) continue;
      tput += format("%s%.1f %.1f", tput.empty() ? "M" : " L", x_of(v.value), y_mpps(v.mpps.median));
      lat += format("%s%.1f %.1f", lat.empty() ? "M" : " L", x_of(v.value), y_us(v.load_p99_us));
      s += format("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", x_of(v.value), y_mpps(v.mpps.median), colour(m));
      // The spread of the repetitions, and the fitted throughput (c + a / B) as a hollow mark.
      s += format("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", x_of(v.value),
                  y_mpps(v.mpps.min), x_of(v.value), y_mpps(v.mpps.max), colour(m));
      if (o.cycles_per_second > 0 && v.fitted_cycles > 0)
        fit += format("%s%.1f %.1f", fit.empty() ? "M" : " L", x_of(v.value), y_mpps(o.cycles_per_second / v.fitted_cycles / 1e6));
    }
    if (!fit.empty())
      s += format("<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"2 2\"/>"
                  "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s: fit c + a/B (dotted), min-max of reps (bars)</text>\n",
                  fit.c_str(), colour(m), left + 110, top + 16 + 16.0 * m, colour(m), o.modes[m].c_str());
    s += format("\n<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", tput.c_str(), colour(m));
    s += format("<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n", lat.c_str(), colour(m));
    s += format("<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n", left + 10, top + 16 + 16.0 * m, colour(m), o.modes[m].c_str());
  }
  for (size_t i = 0; i < recommended.size(); ++i) {
    const auto& r = recommended[i];
    if (!r.found) continue;
    const size_t m = std::find(o.modes.begin(), o.modes.end(), r.mode) - o.modes.begin();
    s += format("<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"1 3\"/>"
                "<text x=\"%.1f\" y=\"%.0f\" fill=\"%s\">recommended %u</text>\n",
                x_of(r.value), top, x_of(r.value), top + plot_h, colour(m), x_of(r.value) + 4, top + plot_h - 12 - 14.0 * m,
                colour(m), r.value);
  }
  s += "</svg>\n";
  return s;
}

}  // namespace pkio::maxsend
