// One RFC 2544 trial: a fixed offered load for a fixed time through the generator's engine
// (gen::QueueSender), and what came back on the receive port (gen::Receiver), counted from
// pkio's own accounting: what was offered is what completed with success, not what was asked.
#pragma once

#include <cstdint>
#include <string>

#include <pkio/dpdk/port.h>

#include "options.h"

namespace pkio::ndr {

/// What one trial intended, offered, and saw come back.
struct Trial {
  uint32_t index = 0;          ///< 1, 2, ... within its frame size
  std::string kind;            ///< "search", "final", "latency", "loss_curve"
  uint32_t frame_size = 0;
  double intended_pps = 0;
  double seconds = 0;          ///< asked for
  uint64_t intended = 0;       ///< intended_pps x seconds
  uint64_t offered = 0;        ///< completed with success: really handed to the wire
  uint64_t failed = 0;         ///< completed with another status
  uint64_t received = 0;       ///< this trial's stamped frames, once each
  uint64_t lost = 0;           ///< offered - received (never negative)
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  double duration_s = 0;       ///< first submission to last completion, as measured
  double offered_pps = 0;      ///< offered / duration_s
  double received_pps = 0;     ///< received / duration_s
  double latency_p50_ns = 0, latency_p99_ns = 0, latency_max_ns = 0;  ///< one-way, of what was received
  /// The sender delivered what was intended, in the time intended, without failures: the
  /// result is the DUT's. (The measured duration may be longer: a DUT that buffers, or a
  /// consumer that frees late, delays completions, not sends.)
  bool valid = false;
  std::string invalid_reason;  ///< why not ("offered 91.2 % of intended", "1200 sends failed: no_cable")
  bool interrupted = false;    ///< a signal stopped it
  [[nodiscard]] double loss_ratio() const noexcept {
    return offered ? static_cast<double>(lost) / static_cast<double>(offered) : 0;
  }
};

/// The ports a trial runs on (rx may be tx: a loop).
struct TrialPorts {
  dpdk::Port* tx = nullptr;
  dpdk::Port* rx = nullptr;
};

/// Runs one trial of `traffic` (its streams and batch; the frame size already set) at
/// `rate_pps` for `seconds`. Frames carry flows from `first_flow` so that late frames of an
/// earlier trial are not counted. `tolerance`: the share of the intended load the sender may
/// fall short by (and of the duration it may stretch by) for the trial to stay valid.
/// failure with `error` if the sender cannot be set up.
Status run_trial(const TrialPorts& ports, const gen::Options& traffic, double rate_pps, double seconds,
                 uint32_t first_flow, double tolerance, Trial& out, std::string& error);

}  // namespace pkio::ndr
