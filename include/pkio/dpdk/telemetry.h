/// @file
/// Live counters through DPDK telemetry: an adapter published here can be read, while it
/// runs, by `dpdk-telemetry.py` (or any client of the EAL's telemetry socket,
/// /var/run/dpdk/<file-prefix>/dpdk_telemetry.v2). NDIS 5.1 had the same numbers behind
/// OID_GEN_XMIT_OK / OID_GEN_XMIT_ERROR queries; this is their live, out-of-process view.
///
/// Commands (ADAPTER: a published name, or its index in /pkio/adapters):
/// - `/pkio/adapters`: the published names.
/// - `/pkio/counters,ADAPTER`: submitted, rejected_sync, completed_ok, completed_error,
///   in_flight, batches, batch_packets, resources_events, requeued, resets, completions by
///   status (`completed_<status>`, those seen) and violations (`violation_<kind>`).
/// - `/pkio/latency,ADAPTER`: submit-to-completion latency: count, p50_ns, p99_ns, p999_ns.
/// - `/pkio/batch_sizes,ADAPTER`: calls to the miniport by array size (index = size), up to
///   the largest size used.
#pragma once

#include <memory>
#include <string>

#include <pkio/result.h>

namespace pkio {
class Adapter;
}

namespace pkio::dpdk {

/// An adapter's entry in the telemetry commands; the adapter is read by the telemetry thread
/// until this object is destroyed (destroy it before the adapter).
class TelemetryEntry {
 public:
  /// Publishes `adapter` under `name` (letters, digits, '.', '_', '-'; unique). Fails if the
  /// name is bad or taken, or 64 adapters are published already.
  [[nodiscard]] static Result<std::unique_ptr<TelemetryEntry>> publish(const Adapter& adapter,
                                                                       const std::string& name);
  /// Unpublishes: once this returns, no telemetry command reads the adapter.
  ~TelemetryEntry();
  TelemetryEntry(const TelemetryEntry&) = delete;
  TelemetryEntry& operator=(const TelemetryEntry&) = delete;

 private:
  explicit TelemetryEntry(unsigned slot) noexcept : slot_(slot) {}
  unsigned slot_;
};

}  // namespace pkio::dpdk
