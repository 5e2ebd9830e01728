#include "search.h"

#include <algorithm>

namespace pkio::ndr {

Search::Bounds Search::bounds(double threshold) const {
  // The upper bound: the lowest rate that did not pass; the lower: the highest that passed
  // below it. A pass at or above a failure (noise, or a DUT that only just copes) does not
  // lift the lower bound past it.
  Bounds b;
  for (const Outcome& o : trials_)
    if (!passes(o, threshold) && (b.hi == 0 || o.rate < b.hi)) {
      b.hi = o.rate;
      b.hi_trial = &o;
    }
  for (const Outcome& o : trials_)
    if (passes(o, threshold) && (b.hi == 0 || o.rate < b.hi) && o.rate >= b.lo) {
      b.lo = o.rate;
      b.lo_trial = &o;
    }
  return b;
}

bool Search::converged(const Bounds& b) const {
  if (b.hi == 0) return b.lo > 0;  // passed at the maximum rate: nothing above to find
  if (b.hi - b.lo <= config_.precision * b.hi) return true;
  return b.hi < config_.max_rate_pps * 1e-6;  // nothing passes, down to a millionth of the maximum
}

double Search::search_rate(const Bounds& b, double threshold) const {
  if (trials_.empty()) return config_.max_rate_pps;
  const Outcome& last = trials_.back();
  const double mid = (b.lo + b.hi) / 2;
  const double margin = config_.precision * b.hi / 2;
  // After a failure, the rate the DUT (or the sender) really managed is the best guess of
  // where the bound is: just below it, if it falls inside the bounds.
  if (!passes(last, threshold)) {
    double guess = last.valid ? last.received_pps : last.offered_pps;
    if (threshold > 0 && last.valid) guess = last.received_pps / (1 - threshold);
    guess *= 1 - config_.precision / 2;
    if (guess > b.lo + margin && guess < b.hi - margin) return guess;
    return mid;
  }
  // After a pass, probe just above it first (a guess is usually close), then wider.
  uint32_t passes_in_a_row = 0;
  for (auto it = trials_.rbegin(); it != trials_.rend() && passes(*it, threshold); ++it) ++passes_in_a_row;
  const double step = config_.precision * static_cast<double>(1u << std::min(passes_in_a_row - 1, 20u));
  return std::min(b.lo * (1 + step), mid);
}

bool Search::confirmed_at(double rate, double threshold) const {
  for (const Outcome& o : trials_)
    if (o.final && o.rate == rate && passes(o, threshold)) return true;
  return false;
}

Search::Next Search::next() const {
  if (trials_.size() >= config_.max_trials) return {};
  for (const bool ndr : {true, false}) {
    const double threshold = ndr ? 0 : config_.pdr;
    const Bounds b = bounds(threshold);
    if (!converged(b)) return {search_rate(b, threshold), false, ndr};
    if (b.lo == 0) continue;  // nothing passed: nothing to confirm
    // A final that passed at this rate confirms it (a no-loss one confirms the PDR too).
    if (confirmed_at(b.lo, threshold)) continue;
    if ((ndr ? ndr_finals_ : pdr_finals_) >= config_.max_finals) continue;
    return {b.lo, true, ndr};
  }
  return {};
}

void Search::record(const Trial& t) {
  if (t.interrupted) return;  // says nothing of the DUT or the sender
  const Outcome o{t.intended_pps, t.valid, t.loss_ratio(), t.lost, t.received_pps, t.offered_pps, t.kind == "final", t.index};
  if (o.final) ++(next().ndr ? ndr_finals_ : pdr_finals_);  // the target whose final this is
  trials_.push_back(o);
}

Found Search::found(double threshold) const {
  Found f;
  const Bounds b = bounds(threshold);
  f.pps = b.lo;
  f.upper_pps = b.hi;
  if (b.lo_trial != nullptr) {
    f.loss_ratio = b.lo_trial->loss_ratio;
    f.trial = b.lo_trial->index;
  }
  for (const Outcome& o : trials_)
    if (o.final && o.rate == b.lo && passes(o, threshold)) {
      f.confirmed = true;
      f.trial = o.index;
      f.loss_ratio = o.loss_ratio;
    }
  if (b.hi_trial == nullptr) f.limited_by = "max_rate";
  else f.limited_by = b.hi_trial->valid ? "dut" : "sender";
  return f;
}

}  // namespace pkio::ndr
