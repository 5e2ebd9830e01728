// The NDR/PDR search (RFC 2544 section 26.1, with CSIT's MLRsearch habits): bounds kept from
// every trial so far, the next rate from the last trial's measured forwarding rate where it
// brackets, else probing up from the lower bound or bisecting, until the bounds are within
// the precision; then a final trial confirms the found rate. Pure logic: no DPDK here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trial.h"

namespace pkio::ndr {

struct SearchConfig {
  double max_rate_pps = 0;  ///< the first trial's rate: line rate or --max-rate
  double pdr = 0.005;       ///< partial drop rate: the loss ratio a PDR trial may have
  double precision = 0.01;  ///< stop when (upper - lower) <= precision x upper
  uint32_t max_trials = 60; ///< per frame size, all kinds together
  uint32_t max_finals = 3;  ///< final trials per target before giving up confirming
};

/// What a search found for one target (NDR: no loss; PDR: loss ratio at most pdr).
struct Found {
  double pps = 0;               ///< the highest rate that passed (0: none did)
  double loss_ratio = 0;        ///< of the trial that confirmed it
  std::string limited_by;       ///< "dut", "sender" (its own path could not offer more) or "max_rate"
  double upper_pps = 0;         ///< the lowest rate that did not pass (0: none)
  bool confirmed = false;       ///< a final trial at `pps` passed
  uint32_t trial = 0;           ///< the trial that confirmed (or last passed at) it
};

class Search {
 public:
  explicit Search(SearchConfig config) : config_(config) {}

  /// The next trial: its rate and kind ("search" or "final"); rate 0 when done.
  struct Next {
    double rate_pps = 0;
    bool final = false;
    bool ndr = true;  ///< which target it is for
  };
  [[nodiscard]] Next next() const;
  /// Takes a trial's outcome (any kind: every trial informs the bounds).
  void record(const Trial& t);

  [[nodiscard]] Found ndr() const { return found(0); }
  [[nodiscard]] Found pdr() const { return found(config_.pdr); }
  [[nodiscard]] bool done() const { return next().rate_pps == 0; }
  [[nodiscard]] uint32_t trials() const noexcept { return static_cast<uint32_t>(trials_.size()); }

 private:
  struct Outcome {
    double rate;
    bool valid;
    double loss_ratio;
    uint64_t lost;
    double received_pps, offered_pps;
    bool final;
    uint32_t index;
  };
  struct Bounds {
    double lo = 0, hi = 0;  // hi 0: nothing failed yet
    const Outcome* lo_trial = nullptr;
    const Outcome* hi_trial = nullptr;
  };
  /// A trial passes a target if the sender delivered it and its loss is within it.
  static bool passes(const Outcome& o, double threshold) {
    return o.valid && (threshold == 0 ? o.lost == 0 : o.loss_ratio <= threshold);
  }
  [[nodiscard]] Bounds bounds(double threshold) const;
  [[nodiscard]] bool converged(const Bounds& b) const;
  [[nodiscard]] double search_rate(const Bounds& b, double threshold) const;
  [[nodiscard]] Found found(double threshold) const;
  [[nodiscard]] bool confirmed_at(double rate, double threshold) const;

  SearchConfig config_;
  std::vector<Outcome> trials_;
  uint32_t ndr_finals_ = 0, pdr_finals_ = 0;  // final trials run for each target
};

}  // namespace pkio::ndr
