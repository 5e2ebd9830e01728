// Measured send loops shared by pkio-bench and pkio-maxsend: the raw DPDK loop, a raw
// two-thread handoff (the floor of any cross-thread design), and pkio's paths, each run for a
// fixed time on one TX queue of a port, every pkio packet completed back to its protocol
// before the result is taken.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pkio/dpdk/port.h>
#include <pkio/metrics.h>

namespace pkio::apps {

enum class SendPath {
  raw,                  ///< rte_pktmbuf_alloc_bulk + rte_eth_tx_burst on one thread (testpmd txonly)
  handoff,              ///< raw mbufs through an rte_ring to a second thread that calls tx_burst
  inline_path,          ///< send_packets, run to completion, serialized miniport
  inline_deserialized,  ///< the same with the miniport deserialized (NDIS: no MiniportSendPackets status)
  send_single,          ///< send (NdisSend), one call per packet, run to completion
  cross_thread,         ///< send_packets from this thread, the adapter's worker on the next lcore
};

/// The name used in tables, JSON and --paths: "raw", "handoff", "inline",
/// "inline_deserialized", "send", "cross_thread".
const char* path_name(SendPath path) noexcept;

/// The path named `name` (path_name's inverse); false if there is none.
bool path_of_name(const std::string& name, SendPath& out) noexcept;

/// Whether the path needs a second EAL lcore (handoff, cross_thread).
bool needs_two_lcores(SendPath path) noexcept;

struct RunSpec {
  SendPath path = SendPath::inline_path;
  uint32_t frame_size = 64;
  uint32_t burst = 32;             ///< packets per send call and OID_GEN_MAXIMUM_SEND_PACKETS
  double seconds = 0.5;
  double offered_pps = 0;          ///< 0: as fast as possible; else paced at this rate
  uint32_t in_flight_packets = 2048;  ///< packets in the protocol's pool
  /// cross_thread: the CPU of the adapter's worker; -1: the next EAL lcore's after the main one
  int worker_cpu = -1;
  bool deserialized = false;       ///< the DPDK miniport in deserialized mode
  bool copy = false;               ///< complete on acceptance (copy) instead of on the mbuf free
  /// --metrics: the run's adapter is served here while it runs, as adapter `metrics_name`.
  metrics::Endpoint* metrics = nullptr;
  std::string metrics_name;
};

struct RunResult {
  uint64_t packets = 0;            ///< completed (raw: accepted by tx_burst)
  uint64_t cycles = 0;             ///< TSC cycles spent in the loop
  double seconds = 0;
  double mpps = 0;
  double cycles_per_packet = 0;
  uint64_t miniport_calls = 0;
  uint64_t resources_events = 0;   ///< partial acceptances (`resources`)
  std::vector<uint64_t> batch_sizes;  ///< miniport calls by array size (index = size)
  double latency_p50_ns = 0, latency_p99_ns = 0, latency_p999_ns = 0;
  uint64_t errors = 0;             ///< completions with a status other than success
  /// The process's CPU time over the run's wall time: about 1 for a one-thread path, about 2
  /// when both threads of handoff or cross_thread had a core each (every thread busy-polls).
  double cpu_per_wall = 0;
};

/// Runs one measurement. failure with `error` if the miniport or adapter cannot be set up.
Status run_send_path(dpdk::Port& port, const RunSpec& spec, RunResult& out, std::string& error);

/// Median and spread of repeated measurements.
struct Stats {
  double median = 0, min = 0, max = 0;
};
Stats stats_of(std::vector<double> values);

}  // namespace pkio::apps
