/// @file
/// What an adapter counts: AdapterCounters (a snapshot, contract R40: they reconcile at rest)
/// and the Violations it detected and survived, with one table of names that the counters,
/// telemetry, the metrics endpoint, the verifier and every report use.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>

#include <pkio/status.h>

namespace pkio {

/// Contract violations the dispatcher detected and survived.
struct Violations {
  uint64_t foreign_completion = 0;   ///< send_complete for another adapter's or no packet (R20)
  uint64_t unexpected_completion = 0;///< for a packet not pending: double, never pended (R20)
  uint64_t bad_final_status = 0;     ///< pending/resources/unknown given as final (R22)
  uint64_t status_unset = 0;         ///< serialized miniport left a status unset
  uint64_t deserialized_resources = 0; ///< a deserialized miniport said resources (R18)
  uint64_t rejected_entries = 0;     ///< entries refused: null, not the protocol's, twice in a call
  uint64_t resubmitted_in_flight = 0;///< of those, packets submitted again while in flight
  uint64_t hangs = 0;                ///< sends that timed out (R23)
  /// A second thread in the worker's role at once: a send, poll or request on a
  /// run-to-completion adapter (or a poll beside the worker) while another thread is in one.
  /// The call is refused.
  uint64_t concurrent_use = 0;
};

/// The names of Violations' fields, in their order: counters, telemetry, reports and the
/// verifier all use these.
inline constexpr const char* violation_names[] = {
    "foreign_completion", "unexpected_completion", "bad_final_status", "status_unset",
    "deserialized_resources", "rejected_entries", "resubmitted_in_flight", "hangs",
    "concurrent_use"};
static_assert(std::size(violation_names) == sizeof(Violations) / sizeof(uint64_t));

/// The count of violation `index` (in violation_names' order) in `v`.
[[nodiscard]] inline uint64_t violation_count(const Violations& v, std::size_t index) noexcept {
  return reinterpret_cast<const uint64_t*>(&v)[index];
}

/// A snapshot of an adapter's counters (contract R40: they reconcile at rest).
struct AdapterCounters {
  uint64_t submitted = 0;            ///< packets accepted by send/send_packets
  uint64_t rejected_sync = 0;        ///< send() calls that returned a final status at once
  uint64_t completed_ok = 0;         ///< completions with success
  uint64_t completed_error = 0;      ///< completions with any other status
  std::array<uint64_t, status_count> completed_by_status{};  ///< indexed by status_index
  uint64_t in_flight = 0;            ///< submitted and not yet completed (transmit_queue_length)
  uint64_t batches = 0;              ///< send_packets calls made to the miniport
  uint64_t batch_packets = 0;        ///< packets in those calls
  uint64_t resources_events = 0;     ///< `resources` answers (partial acceptance)
  uint64_t requeued = 0;             ///< packets put back at the head after `resources`
  uint64_t resets = 0;               ///< resets done (NdisReset, and hangs, R23)
  Violations violations{};           ///< contract violations detected and survived
};

/// One scalar field of AdapterCounters: its name in telemetry, metrics and JSON, and a line
/// saying what it counts.
struct CounterField {
  const char* name;                       ///< snake_case, as in the JSON reports and telemetry
  uint64_t AdapterCounters::*field;       ///< the field
  const char* help;                       ///< one line
  bool is_total;                          ///< a count that only grows (false: a level, in_flight)
};

/// AdapterCounters' scalar fields, in order.
inline constexpr CounterField counter_fields[] = {
    {"submitted", &AdapterCounters::submitted, "Packets accepted by send and send_packets.", true},
    {"rejected_sync", &AdapterCounters::rejected_sync, "send() calls answered with a final status at once.", true},
    {"completed_ok", &AdapterCounters::completed_ok, "Packets completed with success.", true},
    {"completed_error", &AdapterCounters::completed_error, "Packets completed with any other status.", true},
    {"in_flight", &AdapterCounters::in_flight, "Packets accepted and not yet completed.", false},
    {"batches", &AdapterCounters::batches, "Arrays handed to the miniport (send_packets calls).", true},
    {"batch_packets", &AdapterCounters::batch_packets, "Packets in those arrays.", true},
    {"resources_events", &AdapterCounters::resources_events, "Resources answers from the miniport (partial acceptance).", true},
    {"requeued", &AdapterCounters::requeued, "Packets put back at the head of the queue after resources.", true},
    {"resets", &AdapterCounters::resets, "Resets done, asked for or after a hang.", true},
};

}  // namespace pkio
