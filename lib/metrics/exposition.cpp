// The Prometheus text exposition (format 0.0.4) of adapters' counters. Counter names end in
// _total, durations are in seconds, packet counts say packets: Prometheus's naming rules.
#include <pkio/metrics.h>

#include <cinttypes>
#include <algorithm>
#include <cstdio>

#include <pkio/counters.h>
#include <pkio/cycles.h>
#include <pkio/latency_histogram.h>

namespace pkio::metrics {

namespace {

std::string escaped(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string with(const std::string& labels, const std::string& more) {
  if (labels.empty()) return more;
  return labels + "," + more;
}

std::string number(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

// Latency buckets: see write_latency.
constexpr uint64_t latency_low_cycles = 16;
constexpr uint64_t latency_high_cycles = uint64_t{1} << 36;

}  // namespace

void Writer::family(const std::string& name, const char* type, const char* help) {
  out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void Writer::sample(const std::string& name, const std::string& labels, double value) {
  out_ += name;
  if (!labels.empty()) out_ += "{" + labels + "}";
  out_ += " " + number(value) + "\n";
}

void Writer::sample(const std::string& name, const std::string& labels, uint64_t value) {
  out_ += name;
  if (!labels.empty()) out_ += "{" + labels + "}";
  out_ += " " + std::to_string(value) + "\n";
}

std::string Writer::labels(std::initializer_list<std::pair<const char*, std::string>> pairs) {
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out += ",";
    out += std::string(key) + "=\"" + escaped(value) + "\"";
  }
  return out;
}

// The histogram's own buckets, so that a quantile Prometheus computes lands where the
// tools' own percentiles do (within the buckets' 12.5 %).
void write_latency(Writer& w, const std::string& name, const std::string& labels, const LatencyHistogram& h) {
  const double hz = static_cast<double>(cycles_per_second());
  const unsigned first = LatencyHistogram::bucket_of(latency_low_cycles);
  const unsigned last = LatencyHistogram::bucket_of(latency_high_cycles);
  uint64_t below = 0;
  for (unsigned b = 0; b < first; ++b) below += h.bucket_count_of(b);
  // Bucket b's upper edge is bucket_low(b + 1): every sample counted so far is below it.
  for (unsigned b = first; b < last; ++b) {
    below += h.bucket_count_of(b);
    const double le = static_cast<double>(LatencyHistogram::bucket_low(b + 1)) / hz;
    w.sample(name + "_bucket", with(labels, "le=\"" + number(le) + "\""), below);
  }
  uint64_t all = below;
  for (unsigned b = last; b < LatencyHistogram::bucket_count; ++b) all += h.bucket_count_of(b);
  w.sample(name + "_bucket", with(labels, "le=\"+Inf\""), all);
  w.sample(name + "_sum", labels, static_cast<double>(h.sum()) / hz);
  w.sample(name + "_count", labels, all);
}


void write_adapters(std::string& out, const std::vector<std::pair<const Adapter*, AdapterLabels>>& adapters) {
  if (adapters.empty()) return;
  struct Snapshot {
    std::string labels;
    AdapterCounters counters;
    std::vector<uint64_t> batch_sizes;  // calls by array size, index = size
    const LatencyHistogram* latency;
  };
  std::vector<Snapshot> all;
  for (const auto& [adapter, l] : adapters)
    all.push_back({Writer::labels({{"adapter", l.adapter}, {"port", l.port}, {"queue", std::to_string(l.queue)}}),
                   adapter->counters(), adapter->batch_size_counts(), &adapter->latency_cycles()});
  Writer w(out);
  const auto each = [&](const char* name, const char* type, const char* help, auto value) {
    w.family(name, type, help);
    for (const Snapshot& s : all) w.sample(name, s.labels, static_cast<uint64_t>(value(s.counters)));
  };
  each("pkio_submitted_packets_total", "counter", "Packets accepted by send or send_packets (NdisSend, NdisSendPackets).",
       [](const AdapterCounters& c) { return c.submitted; });
  each("pkio_rejected_packets_total", "counter", "Packets refused at once: the call returned without taking them.",
       [](const AdapterCounters& c) { return c.rejected_sync; });
  w.family("pkio_completed_packets_total", "counter",
           "Packets given back to their protocol (ProtocolSendComplete), by final status.");
  for (const Snapshot& s : all)
    for (unsigned i = 0; i < status_count; ++i)
      w.sample("pkio_completed_packets_total",
               with(s.labels, "status=\"" + std::string(to_string(all_statuses[i])) + "\""),
               s.counters.completed_by_status[i]);
  each("pkio_in_flight_packets", "gauge", "Packets submitted and not yet completed.",
       [](const AdapterCounters& c) { return c.in_flight; });
  each("pkio_resources_events_total", "counter",
       "Miniport calls that ended in NDIS_STATUS_RESOURCES (the rest of the array requeued).",
       [](const AdapterCounters& c) { return c.resources_events; });
  each("pkio_requeued_packets_total", "counter", "Packets put back at the head of the queue after resources.",
       [](const AdapterCounters& c) { return c.requeued; });
  each("pkio_resets_total", "counter", "Miniport resets (MiniportReset).", [](const AdapterCounters& c) { return c.resets; });
  w.family("pkio_violations_total", "counter", "Breaches of the send contract, by kind (see docs/contract.md).");
  for (const Snapshot& s : all)
    for (std::size_t i = 0; i < std::size(violation_names); ++i)
      w.sample("pkio_violations_total", with(s.labels, "kind=\"" + std::string(violation_names[i]) + "\""),
               violation_count(s.counters.violations, i));
  // Calls and their packets from the one snapshot of batch sizes, so that they agree with
  // the histogram below exactly.
  w.family("pkio_miniport_calls_total", "counter", "MiniportSendPackets calls.");
  for (const Snapshot& s : all) {
    uint64_t calls = 0;
    for (uint64_t c : s.batch_sizes) calls += c;
    w.sample("pkio_miniport_calls_total", s.labels, calls);
  }
  w.family("pkio_miniport_call_packets_total", "counter", "Packets handed to the miniport in those calls.");
  for (const Snapshot& s : all) {
    uint64_t packets = 0;
    for (std::size_t k = 0; k < s.batch_sizes.size(); ++k) packets += k * s.batch_sizes[k];
    w.sample("pkio_miniport_call_packets_total", s.labels, packets);
  }
  w.family("pkio_miniport_batch_size_packets", "histogram",
           "Packets per MiniportSendPackets call (at most OID_GEN_MAXIMUM_SEND_PACKETS).");
  for (const Snapshot& s : all) {
    const std::size_t largest = s.batch_sizes.size() - 1;  // OID_GEN_MAXIMUM_SEND_PACKETS
    std::vector<uint64_t> calls_up_to(largest + 1);
    uint64_t calls = 0, packets = 0;
    for (std::size_t k = 0; k <= largest; ++k) {
      calls += s.batch_sizes[k];
      packets += k * s.batch_sizes[k];
      calls_up_to[k] = calls;
    }
    for (std::size_t edge = 1;; edge *= 2) {  // 1, 2, 4, ... and the largest
      const std::size_t e = std::min(edge, largest);
      w.sample("pkio_miniport_batch_size_packets_bucket", with(s.labels, "le=\"" + std::to_string(e) + "\""),
               calls_up_to[e]);
      if (e == largest) break;
    }
    w.sample("pkio_miniport_batch_size_packets_bucket", with(s.labels, "le=\"+Inf\""), calls);
    w.sample("pkio_miniport_batch_size_packets_sum", s.labels, packets);
    w.sample("pkio_miniport_batch_size_packets_count", s.labels, calls);
  }
  w.family("pkio_completion_latency_seconds", "histogram",
           "Submit-to-completion time of packets (sampled on the direct path), in seconds.");
  for (const Snapshot& s : all) write_latency(w, "pkio_completion_latency_seconds", s.labels, *s.latency);
}

}  // namespace pkio::metrics
