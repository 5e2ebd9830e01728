// pkio-maxsend's measurements and judgement: for each OID_GEN_MAXIMUM_SEND_PACKETS value and
// miniport mode, throughput and cost at saturation, the real batch sizes, the rate of
// partial acceptance, and completion latency at saturation and at a fixed offered load.
// The judgement rests on the physics of batching, cycles per packet = c + a / B (a per
// miniport call, c per packet), fitted across every value and repetition, and on resampling
// the repetitions to say how sure it is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "send_paths.h"

namespace pkio::maxsend {

struct SweepOptions {
  std::vector<uint32_t> values{1, 2, 4, 8, 16, 32, 64, 128, 256};
  std::vector<std::string> modes{"serialized", "deserialized"};
  unsigned reps = 30;             ///< rounds: each measures every (mode, value) once
  double seconds = 0.05;          ///< per measurement
  uint32_t frame_size = 64;
  double share = 0.95;            ///< of the best throughput, to count as good enough
  double latency_budget_us = 50;  ///< p99 submit-to-completion at the fixed load
  double load_fraction = 0.5;     ///< fixed offered load, as a share of the best throughput
  double cycles_per_second = 0;   ///< the TSC's rate, to draw the fitted throughput (0: not drawn)
  /// How far a / c moves from one run to the next (1 sd of its logarithm). Resampling one
  /// run's rounds cannot see it; each resample's fit has its a scaled by a draw of it, so the
  /// confidence printed, and a "too slow", hold for the next run too. 0: this run's rounds alone.
  double run_drift = 0.08;
};

struct ValueResult {
  std::string mode;
  uint32_t value = 0;
  apps::Stats mpps;                ///< at saturation, over the repetitions
  std::vector<double> mpps_reps, cycles_reps;  ///< each round's throughput and cost
  /// The trimmed mean over rounds of the cost relative to its round's level, times the
  /// median round's level: a slow stretch of the machine cancels out (what the fit is made of).
  double cycles_per_packet = 0;
  double resources_rate = 0;       ///< partial acceptances per miniport call
  double mean_batch = 0;           ///< packets per miniport call, as really handed over
  std::vector<uint64_t> batch_sizes;  ///< miniport calls by array size, all repetitions
  double sat_p50_us = 0, sat_p99_us = 0, sat_p999_us = 0;  ///< at saturation (queueing)
  double load_mpps = 0;            ///< the fixed offered load
  double load_p50_us = 0, load_p99_us = 0, load_p999_us = 0;
  double fitted_cycles = 0;        ///< c + a / value
  double fitted_share = 0;         ///< fitted cost at the largest value / fitted cost here
  double share_probability = 0;    ///< of resamples (with the drift between runs) reaching the share
  bool reaches_share = false;      ///< on the fitted curve
  bool within_budget = false;
};

/// cycles per packet = c + a / B, by least squares (relative errors) over the values'
/// round-relative costs,
/// with 95 % intervals from resampling whole rounds (percentile bootstrap).
struct CostFit {
  double a = 0, c = 0;             ///< cycles per miniport call, cycles per packet
  double a_lo = 0, a_hi = 0, c_lo = 0, c_hi = 0;
  double r2 = 0;                   ///< share of the variance the model explains
  uint32_t resamples = 0;
};

struct Recommendation {
  std::string mode;
  bool found = false;
  uint32_t value = 0;
  double best_mpps = 0;
  uint32_t best_value = 0;
  double confidence = 0;    ///< share of resamples in which the value reaches the share
  CostFit fit;
  std::string explanation;  ///< one paragraph of numbers
};

/// What the sweep says of one value: over budget (its p99 at the fixed load), good (its
/// fitted throughput reaches the share, and so do at least half the resamples), too slow (at
/// most 2.5 % of resamples reach it: the 95 % interval lies below the line), or cannot tell
/// (the fit falls short, or the resamples disagree with it, but the interval holds the line).
/// Any rule flips between two answers for a value at its threshold; this one puts the
/// threshold at the line itself, so a value well above it is good in every run however noisy
/// the machine. How sure a good value is, is its share_probability, printed beside it.
enum class Verdict { good, too_slow, cannot_tell, over_budget };
Verdict verdict_of(const ValueResult& v) noexcept;
/// "good", "too slow", "cannot tell", "over budget": the table's and the JSON's words.
const char* verdict_name(Verdict v) noexcept;

/// Fills reaches_share / within_budget for one mode and picks the smallest good value.
Recommendation recommend(std::vector<ValueResult>& results, const std::string& mode, const SweepOptions& o);

/// A verdict on `value` for `mode`: one paragraph starting with "good:", "not good:" or
/// "cannot tell at this noise:" (verdict_of).
std::string validate(const std::vector<ValueResult>& results, const Recommendation& r, uint32_t value,
                     const SweepOptions& o);

}  // namespace pkio::maxsend
