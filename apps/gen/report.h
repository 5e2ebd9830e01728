// pkio-gen's output: the per-second progress line, the final summary and the JSON report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dispatcher/adapter.h"
#include "options.h"

namespace pkio::gen {

/// Everything the summary and the JSON report say, added up over the queues.
struct Summary {
  AdapterCounters counters{};
  uint64_t frame_bytes = 0;
  double duration_s = 0;
  double mpps = 0;
  double gbps = 0;        ///< frame bits (no preamble, gap or FCS)
  double line_gbps = 0;   ///< with 24 bytes of preamble, gap and FCS per frame
  double target_pps = 0;  ///< 0: as fast as possible
  double mean_batch = 0;
  double latency_p50_ns = 0, latency_p99_ns = 0, latency_p999_ns = 0;
  uint64_t link_speed_mbps = 0;
  bool drained = true;
  bool interrupted = false;
};

/// One progress line: rates since the previous line and the totals so far.
std::string progress_line(double elapsed_s, uint64_t sent_delta, uint64_t bytes_delta,
                          double interval_s, const AdapterCounters& c);

/// The final summary for people.
std::string summary_text(const Summary& s, const Options& o);

/// The JSON report (--json).
std::string summary_json(const Summary& s, const Options& o);

}  // namespace pkio::gen
