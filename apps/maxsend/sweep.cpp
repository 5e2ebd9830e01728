#include "sweep.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "text.h"

namespace pkio::maxsend {

using apps::format;

namespace {

constexpr uint32_t resample_count = 400;

/// Least squares of y = c + a x over the points (x = 1 / B).
struct Line {
  double a = 0, c = 0;
};
Line fit_line(const std::vector<std::pair<double, double>>& points) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double n = static_cast<double>(points.size());
  const double d = n * sxx - sx * sx;
  Line l;
  if (points.empty() || d == 0) return l;
  l.a = (n * sxy - sx * sy) / d;
  l.c = (sy - l.a * sx) / n;
  return l;
}

std::vector<const ValueResult*> of_mode(const std::vector<ValueResult>& results, const std::string& mode) {
  std::vector<const ValueResult*> out;
  for (const auto& v : results)
    if (v.mode == mode) out.push_back(&v);
  return out;
}

/// The points of one resample: each value's repetitions drawn with replacement (rng null:
/// the measured ones).
std::vector<std::pair<double, double>> points_of(const std::vector<const ValueResult*>& values, std::mt19937* rng) {
  std::vector<std::pair<double, double>> points;
  for (const ValueResult* v : values) {
    const size_t n = v->cycles_reps.size();
    for (size_t k = 0; k < n; ++k) {
      const size_t pick = rng ? std::uniform_int_distribution<size_t>(0, n - 1)(*rng) : k;
      points.emplace_back(1.0 / v->value, v->cycles_reps[pick]);
    }
  }
  return points;
}

/// Which values reach the share on a fitted curve: cost at the largest value / cost here.
std::vector<bool> reaching(const std::vector<const ValueResult*>& values, const Line& l, double share) {
  uint32_t largest = 0;
  for (const ValueResult* v : values) largest = std::max(largest, v->value);
  const double best = l.c + l.a / largest;
  std::vector<bool> out;
  for (const ValueResult* v : values) out.push_back(best / (l.c + l.a / v->value) >= share);
  return out;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

Recommendation recommend(std::vector<ValueResult>& results, const std::string& mode, const SweepOptions& o) {
  Recommendation r;
  r.mode = mode;
  const std::vector<const ValueResult*> values = of_mode(results, mode);
  for (const ValueResult* v : values)
    if (v->mpps.median > r.best_mpps) {
      r.best_mpps = v->mpps.median;
      r.best_value = v->value;
    }
  if (values.empty()) return r;
  // The fit, and resamples of it.
  const auto measured = points_of(values, nullptr);
  const Line fit = fit_line(measured);
  double mean = 0, total = 0, residual = 0;
  for (const auto& [x, y] : measured) mean += y / static_cast<double>(measured.size());
  for (const auto& [x, y] : measured) {
    total += (y - mean) * (y - mean);
    residual += (y - fit.c - fit.a * x) * (y - fit.c - fit.a * x);
  }
  r.fit.a = fit.a;
  r.fit.c = fit.c;
  r.fit.r2 = total > 0 ? 1 - residual / total : 1;
  r.fit.resamples = resample_count;
  // The smallest value that reaches the share on a curve and meets the latency budget.
  const auto choose = [&](const std::vector<bool>& reach) -> int {
    int chosen = -1;
    for (size_t i = 0; i < values.size(); ++i)
      if (reach[i] && values[i]->load_p99_us <= o.latency_budget_us &&
          (chosen < 0 || values[i]->value < values[static_cast<size_t>(chosen)]->value))
        chosen = static_cast<int>(i);
    return chosen;
  };
  const std::vector<bool> reach = reaching(values, fit, o.share);
  const int chosen = choose(reach);
  std::mt19937 rng(7);  // fixed: the same data give the same intervals
  std::vector<double> as, cs;
  std::vector<uint32_t> reach_count(values.size(), 0);
  uint32_t agree = 0;
  for (uint32_t k = 0; k < resample_count; ++k) {
    const Line l = fit_line(points_of(values, &rng));
    as.push_back(l.a);
    cs.push_back(l.c);
    const std::vector<bool> rr = reaching(values, l, o.share);
    for (size_t i = 0; i < values.size(); ++i) reach_count[i] += rr[i];
    agree += choose(rr) == chosen;
  }
  r.fit.a_lo = percentile(as, 0.025);
  r.fit.a_hi = percentile(as, 0.975);
  r.fit.c_lo = percentile(cs, 0.025);
  r.fit.c_hi = percentile(cs, 0.975);
  r.confidence = static_cast<double>(agree) / resample_count;
  uint32_t largest = 0;
  for (const ValueResult* v : values) largest = std::max(largest, v->value);
  for (auto& v : results) {
    if (v.mode != mode) continue;
    const size_t i = static_cast<size_t>(std::find(values.begin(), values.end(), &v) - values.begin());
    v.fitted_cycles = fit.c + fit.a / v.value;
    v.fitted_share = (fit.c + fit.a / largest) / v.fitted_cycles;
    v.reaches_share = reach[i];
    v.share_probability = static_cast<double>(reach_count[i]) / resample_count;
    v.within_budget = v.load_p99_us <= o.latency_budget_us;
  }
  const std::string model = format("cycles per packet = %.1f [%.1f, %.1f] + %.1f [%.1f, %.1f] / B (r2 %.2f, %u resamples)",
                                   fit.c, r.fit.c_lo, r.fit.c_hi, fit.a, r.fit.a_lo, r.fit.a_hi, r.fit.r2, resample_count);
  if (chosen < 0) {
    r.explanation = format(
        "%s: no value reaches %.0f %% of the fitted throughput at %u with a p99 latency within %.0f us at %.2f Mpps "
        "offered; raise the budget or lower the share. %s.",
        mode.c_str(), o.share * 100, largest, o.latency_budget_us, o.load_fraction * r.best_mpps, model.c_str());
    return r;
  }
  const ValueResult& c = *values[static_cast<size_t>(chosen)];
  r.found = true;
  r.value = c.value;
  const ValueResult* below = nullptr;  // the next smaller value measured, to say why not it
  for (const ValueResult* v : values)
    if (v->value < c.value && (below == nullptr || v->value > below->value)) below = v;
  r.explanation = format(
      "%s: recommend OID_GEN_MAXIMUM_SEND_PACKETS = %u (the same value in %.0f %% of %u resamples). %s: at %u a call "
      "costs %.1f cycles a packet, %.1f %% of the throughput at %u; measured %.2f Mpps [%.2f - %.2f], %.1f packets per "
      "call, %.3f partial acceptances per call; at %.2f Mpps offered its p99 completion latency is %.1f us (budget "
      "%.0f us).",
      mode.c_str(), c.value, 100 * r.confidence, resample_count, model.c_str(), c.value, c.fitted_cycles,
      100 * c.fitted_share, largest, c.mpps.median, c.mpps.min, c.mpps.max, c.mean_batch, c.resources_rate,
      c.load_mpps, c.load_p99_us, o.latency_budget_us);
  if (below != nullptr)
    r.explanation += format(" The next smaller value, %u, %s (%.1f %% on the fit; p99 %.1f us).", below->value,
                            !below->reaches_share ? "falls short of the share" : "misses the latency budget",
                            100 * below->fitted_share, below->load_p99_us);
  else
    r.explanation += " It is the smallest value measured.";
  return r;
}

std::string validate(const std::vector<ValueResult>& results, const Recommendation& r, uint32_t value,
                     const SweepOptions& o) {
  const ValueResult* v = nullptr;
  for (const auto& x : results)
    if (x.mode == r.mode && x.value == value) v = &x;
  if (v == nullptr) return format("%s: not measured: %u is not in the sweep", r.mode.c_str(), value);
  std::string text;
  const std::string share_text = format("%.1f %% of the throughput at the largest value on the fitted curve (needs %.0f %%; "
                                        "reached in %.0f %% of resamples)",
                                        100 * v->fitted_share, o.share * 100, 100 * v->share_probability);
  const std::string budget_text = format("a p99 of %.1f us at %.2f Mpps offered (budget %.0f us)", v->load_p99_us,
                                         v->load_mpps, o.latency_budget_us);
  if (!v->within_budget) {
    text = format("not good: %u has %s.", value, budget_text.c_str());
  } else if (v->share_probability >= 0.9 && v->reaches_share) {
    text = format("good: %u reaches %s, and has %s.", value, share_text.c_str(), budget_text.c_str());
    if (r.found && r.value < value) text += format(" %u would do as well with smaller arrays.", r.value);
  } else if (v->share_probability <= 0.1 && !v->reaches_share) {
    text = format("not good: %u reaches only %s.", value, share_text.c_str());
  } else {
    text = format("cannot tell at this noise: %u reaches %s; run with more --reps to decide.", value, share_text.c_str());
  }
  if (text.rfind("not good", 0) == 0 && r.found) text += format(" Use %u instead.", r.value);
  return r.mode + ": " + text;
}

}  // namespace pkio::maxsend
