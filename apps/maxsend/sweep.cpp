#include "sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>

#include "text.h"

namespace pkio::maxsend {

using apps::format;

namespace {

constexpr uint32_t resample_count = 400;

/// Least squares of y = c + a x over the points (x = 1 / B), each weighted by 1 / y^2: the
/// noise is a share of the cost, so a 100-cycle point at B = 1 must not outweigh the rest.
struct Line {
  double a = 0, c = 0;
};
Line fit_line(const std::vector<std::pair<double, double>>& points) {
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) {
    const double w = y > 0 ? 1 / (y * y) : 0;
    sw += w;
    sx += w * x;
    sy += w * y;
    sxx += w * x * x;
    sxy += w * x * y;
  }
  const double d = sw * sxx - sx * sx;
  Line l;
  if (points.empty() || d == 0) return l;
  l.a = (sw * sxy - sx * sy) / d;
  l.c = (sy - l.a * sx) / sw;
  return l;
}

std::vector<const ValueResult*> of_mode(const std::vector<ValueResult>& results, const std::string& mode) {
  std::vector<const ValueResult*> out;
  for (const auto& v : results)
    if (v.mode == mode) out.push_back(&v);
  return out;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/// The mean of the middle 60 %: nearly as steady as the mean, and a round that a burst of
/// interference hit does not move it.
double trimmed_mean_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t cut = v.size() / 5;
  double sum = 0;
  for (size_t i = cut; i < v.size() - cut; ++i) sum += v[i];
  return sum / static_cast<double>(v.size() - 2 * cut);
}

/// A round measures every value once, within about a second. A slow stretch of a shared
/// machine lasts seconds and scales a whole round, so each value's cost is taken relative to
/// its round's level (the geometric mean over the round): what is left is the shape of the
/// curve, which is what the choice depends on.
struct Rounds {
  std::vector<std::vector<double>> relative;  ///< [value][round]: cost / the round's level
  double level = 0;                           ///< the median round's level, to give cycles back
};
Rounds rounds_of(const std::vector<const ValueResult*>& values) {
  Rounds r;
  size_t count = SIZE_MAX;
  for (const ValueResult* v : values) count = std::min(count, v->cycles_reps.size());
  if (values.empty() || count == 0) return r;
  std::vector<double> levels(count);
  for (size_t k = 0; k < count; ++k) {
    double log_sum = 0;
    for (const ValueResult* v : values) log_sum += std::log(v->cycles_reps[k]);
    levels[k] = std::exp(log_sum / static_cast<double>(values.size()));
  }
  r.level = median_of(levels);
  r.relative.assign(values.size(), std::vector<double>(count));
  for (size_t i = 0; i < values.size(); ++i)
    for (size_t k = 0; k < count; ++k) r.relative[i][k] = values[i]->cycles_reps[k] / levels[k];
  return r;
}

/// Each value's cost over the given rounds (a round may appear more than once: a resample),
/// as (1 / B, cycles per packet) points for the fit.
std::vector<std::pair<double, double>> points_of(const std::vector<const ValueResult*>& values, const Rounds& r,
                                                 const std::vector<size_t>& rounds) {
  std::vector<std::pair<double, double>> points;
  std::vector<double> picked(rounds.size());
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t k = 0; k < rounds.size(); ++k) picked[k] = r.relative[i][rounds[k]];
    points.emplace_back(1.0 / values[i]->value, r.level * trimmed_mean_of(picked));
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

Verdict verdict_of(const ValueResult& v) noexcept {
  if (!v.within_budget) return Verdict::over_budget;
  if (v.reaches_share && v.share_probability >= 0.5) return Verdict::good;
  if (v.share_probability <= 0.025) return Verdict::too_slow;
  return Verdict::cannot_tell;
}

const char* verdict_name(Verdict v) noexcept {
  switch (v) {
    case Verdict::good: return "good";
    case Verdict::too_slow: return "too slow";
    case Verdict::cannot_tell: return "cannot tell";
    case Verdict::over_budget: return "over budget";
  }
  return "?";
}

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
  // The fit, and resamples of it (rounds drawn with replacement).
  const Rounds rounds = rounds_of(values);
  const size_t round_count = rounds.relative.empty() ? 0 : rounds.relative[0].size();
  if (round_count == 0) return r;
  std::vector<size_t> all(round_count);
  for (size_t k = 0; k < round_count; ++k) all[k] = k;
  const auto measured = points_of(values, rounds, all);
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
  // How often each value reaches the share on the fit of a resample of the rounds, its a / c
  // moved by a draw of the drift between runs (a and c's own intervals are the rounds' alone).
  const std::vector<bool> reach = reaching(values, fit, o.share);
  std::mt19937 rng(7);  // fixed: the same data give the same intervals
  std::normal_distribution<double> standard_normal(0, 1);
  std::vector<double> as, cs;
  std::vector<uint32_t> reach_count(values.size(), 0);
  std::vector<size_t> drawn(round_count);
  std::uniform_int_distribution<size_t> any_round(0, round_count - 1);
  for (uint32_t k = 0; k < resample_count; ++k) {
    for (size_t& d : drawn) d = any_round(rng);
    const Line l = fit_line(points_of(values, rounds, drawn));
    as.push_back(l.a);
    cs.push_back(l.c);
    Line drifted = l;
    drifted.a *= std::exp(o.run_drift * standard_normal(rng));
    const std::vector<bool> rr = reaching(values, drifted, o.share);
    for (size_t i = 0; i < values.size(); ++i) reach_count[i] += rr[i];
  }
  r.fit.a_lo = percentile(as, 0.025);
  r.fit.a_hi = percentile(as, 0.975);
  r.fit.c_lo = percentile(cs, 0.025);
  r.fit.c_hi = percentile(cs, 0.975);
  uint32_t largest = 0;
  for (const ValueResult* v : values) largest = std::max(largest, v->value);
  for (auto& v : results) {
    if (v.mode != mode) continue;
    const size_t i = static_cast<size_t>(std::find(values.begin(), values.end(), &v) - values.begin());
    v.cycles_per_packet = measured[i].second;
    v.fitted_cycles = fit.c + fit.a / v.value;
    v.fitted_share = (fit.c + fit.a / largest) / v.fitted_cycles;
    v.reaches_share = reach[i];
    v.share_probability = static_cast<double>(reach_count[i]) / resample_count;
    v.within_budget = v.load_p99_us <= o.latency_budget_us;
  }
  // The smallest good value: its fit reaches the share and it meets the latency budget.
  int chosen = -1;
  for (size_t i = 0; i < values.size(); ++i)
    if (verdict_of(*values[i]) == Verdict::good &&
        (chosen < 0 || values[i]->value < values[static_cast<size_t>(chosen)]->value))
      chosen = static_cast<int>(i);
  const std::string model = format("cycles per packet = %.1f [%.1f, %.1f] + %.1f [%.1f, %.1f] / B (r2 %.2f, %u resamples "
                                   "of the rounds)",
                                   fit.c, r.fit.c_lo, r.fit.c_hi, fit.a, r.fit.a_lo, r.fit.a_hi, r.fit.r2, resample_count);
  const std::string drift_text = o.run_drift > 0 ? format(", a / c varied by %.0f %% for the drift between runs", 100 * o.run_drift)
                                                 : std::string(", this run alone");
  if (chosen < 0) {
    r.explanation = format(
        "%s: no value reaches %.0f %% of the fitted throughput at %u, in at least half the resamples, with a p99 latency within %.0f us "
        "at %.2f Mpps offered; raise the budget or lower the share. %s.",
        mode.c_str(), o.share * 100, largest, o.latency_budget_us, o.load_fraction * r.best_mpps, model.c_str());
    return r;
  }
  const ValueResult& c = *values[static_cast<size_t>(chosen)];
  r.found = true;
  r.value = c.value;
  r.confidence = c.share_probability;
  const ValueResult* below = nullptr;  // the next smaller value measured, to say why not it
  for (const ValueResult* v : values)
    if (v->value < c.value && (below == nullptr || v->value > below->value)) below = v;
  r.explanation = format(
      "%s: recommend OID_GEN_MAXIMUM_SEND_PACKETS = %u (it reaches the share in %.0f %% of %u resamples%s). %s: at %u a call "
      "costs %.1f cycles a packet, %.1f %% of the throughput at %u; measured %.2f Mpps [%.2f - %.2f], %.1f packets per "
      "call, %.3f partial acceptances per call; at %.2f Mpps offered its p99 completion latency is %.1f us (budget "
      "%.0f us).",
      mode.c_str(), c.value, 100 * r.confidence, resample_count, drift_text.c_str(), model.c_str(), c.value, c.fitted_cycles,
      100 * c.fitted_share, largest, c.mpps.median, c.mpps.min, c.mpps.max, c.mean_batch, c.resources_rate,
      c.load_mpps, c.load_p99_us, o.latency_budget_us);
  if (below != nullptr) {
    const Verdict v = verdict_of(*below);
    r.explanation += format(" The next smaller value, %u, %s (%.1f %% on the fit, in %.0f %% of resamples; p99 %.1f us).",
                            below->value,
                            v == Verdict::over_budget ? "misses the latency budget"
                            : v == Verdict::cannot_tell && below->reaches_share ? "reaches the share on the fit, but in under half the resamples"
                            : v == Verdict::cannot_tell ? "falls short on the fit, but not beyond the noise"
                                                        : "falls short of the share",
                            100 * below->fitted_share, 100 * below->share_probability, below->load_p99_us);
  }
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
  switch (verdict_of(*v)) {
    case Verdict::over_budget:
      text = format("not good: %u has %s.", value, budget_text.c_str());
      break;
    case Verdict::good:
      text = format("good: %u reaches %s, and has %s.", value, share_text.c_str(), budget_text.c_str());
      if (v->share_probability < 0.975)
        text += " It lies near the line: not every run will agree (more --reps narrow this run's part of the noise).";
      if (r.found && r.value < value) text += format(" %u would do as well with smaller arrays.", r.value);
      break;
    case Verdict::too_slow:
      text = format("not good: %u reaches only %s.", value, share_text.c_str());
      break;
    case Verdict::cannot_tell:
      text = format("cannot tell at this noise: %u reaches %s; more --reps narrow this run's noise, a quieter machine "
                    "(and a smaller --run-drift) the drift between runs.", value, share_text.c_str());
      break;
  }
  if (text.rfind("not good", 0) == 0 && r.found) text += format(" Use %u instead.", r.value);
  return r.mode + ": " + text;
}

}  // namespace pkio::maxsend
