// pkio-gen's pacing: when the next packet is due. Constant gaps, Poisson gaps (exponential,
// the arrivals of independent sources), bursts (N back to back, then the gap of N), or the
// gaps of a recorded trace (pcap replay). Times are TSC cycles; the sender asks how many are
// due now and gives back the ones it could not send, so no due packet is forgotten.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "traffic.h"

namespace pkio::gen {

class Pacer {
 public:
  /// No pacing: everything is due at once.
  Pacer() = default;
  /// `rate_pps` packets per second on a clock of `hz` cycles per second, from cycle `start`.
  Pacer(const Pacing& pacing, double rate_pps, double hz, uint64_t start, uint64_t seed)
      : paced_(true), mode_(pacing.mode), burst_(pacing.burst), gap_(hz / rate_pps),
        next_(static_cast<double>(start)), rng_(seed) {}
  /// The gaps of a trace (cycles after each packet, the last one wrapping to the first).
  Pacer(std::vector<double> trace_gaps, uint64_t start)
      : paced_(true), next_(static_cast<double>(start)), trace_(std::move(trace_gaps)) {}

  /// How many packets (at most `max`) are due at `now`. They count as sent unless given back.
  uint32_t due(uint64_t now, uint32_t max) noexcept {
    if (!paced_) return max;
    uint32_t n = credit_ < max ? credit_ : max;
    credit_ -= n;
    const auto t = static_cast<double>(now);
    while (n < max && next_ <= t) {
      ++n;
      next_ += next_gap();
    }
    return n;
  }
  /// Gives back `n` due packets the sender could not send (no packet free yet).
  void give_back(uint32_t n) noexcept { credit_ += n; }
  /// Cycle at which the next packet is due (for waiting); meaningless when not paced.
  [[nodiscard]] double next_due() const noexcept { return next_; }

 private:
  double next_gap() noexcept {
    if (!trace_.empty()) {
      const double g = trace_[trace_index_];
      trace_index_ = trace_index_ + 1 == trace_.size() ? 0 : trace_index_ + 1;
      return g;
    }
    switch (mode_) {
      case PacingMode::constant: return gap_;
      case PacingMode::poisson: return -std::log1p(-uniform_(rng_)) * gap_;  // exponential, mean gap_
      case PacingMode::burst:
        if (++in_burst_ < burst_) return 0;
        in_burst_ = 0;
        return gap_ * burst_;
    }
    return gap_;
  }

  bool paced_ = false;
  PacingMode mode_ = PacingMode::constant;
  uint32_t burst_ = 1, in_burst_ = 0;
  double gap_ = 0;
  double next_ = 0;
  uint32_t credit_ = 0;
  std::vector<double> trace_;
  size_t trace_index_ = 0;
  std::mt19937_64 rng_{1};
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
};

}  // namespace pkio::gen
