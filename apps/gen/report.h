// pkio-gen's output: the per-second progress line, the final summary and the JSON report.
// The summary and the JSON say the same things under the same names; the adapter's counters
// carry the names telemetry uses (counter_fields).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <pkio/adapter.h>

#include "options.h"

namespace pkio::gen {

/// What the receive side saw (--rx-port), added up over the flows.
struct ReceiveSummary {
  bool enabled = false;
  uint64_t frames = 0;        ///< all frames received
  uint64_t stamped = 0;       ///< with a pkio-gen stamp of a known flow
  uint64_t other = 0;         ///< anything else
  uint64_t sent = 0;          ///< stamped packets sent and completed by the flows
  uint64_t unique = 0;        ///< distinct sequence numbers received
  uint64_t lost = 0;          ///< sent and never received
  uint64_t duplicates = 0;
  uint64_t reordered = 0;
  uint64_t bad_checksum = 0;
  double latency_p50_ns = 0, latency_p99_ns = 0, latency_p999_ns = 0, latency_max_ns = 0;
};

/// Everything the summary and the JSON report say, added up over the queues.
struct Summary {
  AdapterCounters counters{};
  uint64_t bytes = 0;           ///< of the packets completed with success, as they leave (tags in)
  double duration_s = 0;        ///< from the first submission to the last completion
  double first_completion_s = 0;  ///< from the first submission to the first completion (0: none)
  double mpps = 0;              ///< completed with success, over duration_s
  double gbps = 0;              ///< frame bits of those (no preamble, gap or FCS)
  double line_gbps = 0;         ///< with 24 bytes of preamble, gap and FCS per frame
  double target_pps = 0;        ///< 0: as fast as possible
  double mean_batch = 0;
  double latency_p50_ns = 0, latency_p99_ns = 0, latency_p999_ns = 0, latency_max_ns = 0;
  uint64_t link_speed_mbps = 0;
  std::vector<std::pair<std::string, uint64_t>> stream_sent;  ///< streams: packets per stream
  bool replay = false;          ///< a --pcap replay, not streams
  uint64_t trace_frames = 0;    ///< replay: frames in the capture
  ReceiveSummary receive;
  bool csv = false;             ///< --csv given
  uint64_t csv_rows = 0, csv_dropped = 0;
  bool drained = true;
  std::string stopped_by;       ///< the signal that stopped the run ("SIGINT"), or empty
};

/// One progress line: rates since the previous line and the totals so far; `rx_frames` < 0
/// when not receiving.
std::string progress_line(double elapsed_s, uint64_t sent_delta, uint64_t bytes_delta,
                          double interval_s, const AdapterCounters& c, int64_t rx_frames = -1);

/// The same as one JSON object on one line (--progress json): elapsed_s, mpps, gbps,
/// interval_s, completed_ok, completed (by status, the non-zero ones), in_flight,
/// mean_batch, and received when receiving. Field names are stable.
std::string progress_json(double elapsed_s, uint64_t sent_delta, uint64_t bytes_delta, double interval_s,
                          const AdapterCounters& c, int64_t rx_frames = -1);

/// The final summary for people.
std::string summary_text(const Summary& s, const Options& o);

/// The JSON report (--json).
std::string summary_json(const Summary& s, const Options& o);

}  // namespace pkio::gen
