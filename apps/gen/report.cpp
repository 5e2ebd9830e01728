#include "report.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include <pkio/latency_histogram.h>

#include "text.h"

namespace pkio::gen {

namespace {
using apps::format;

std::string errors_by_status(const AdapterCounters& c) {
  std::string out;
  for (unsigned i = 0; i < status_count; ++i)
    if (all_statuses[i] != Status::success && c.completed_by_status[i] != 0)
      out += format(" %s=%llu", std::string(to_string(all_statuses[i])).c_str(),
                    static_cast<unsigned long long>(c.completed_by_status[i]));
  return out.empty() ? " none" : out;
}

std::string violations_text(const Violations& v) {
  std::string out;
  for (std::size_t i = 0; i < std::size(violation_names); ++i)
    if (violation_count(v, i) != 0)
      out += format(" %s=%llu", violation_names[i], static_cast<unsigned long long>(violation_count(v, i)));
  return out.empty() ? " none" : out;
}

unsigned long long u(uint64_t v) { return static_cast<unsigned long long>(v); }
}  // namespace

std::string progress_line(double elapsed_s, uint64_t sent_delta, uint64_t bytes_delta,
                          double interval_s, const AdapterCounters& c, int64_t rx_frames) {
  const double pps = static_cast<double>(sent_delta) / interval_s;
  const double gbps = static_cast<double>(bytes_delta) * 8 / interval_s / 1e9;
  const double batch = c.batches ? static_cast<double>(c.batch_packets) / static_cast<double>(c.batches) : 0;
  std::string line = format("[%6.1fs] %8.3f Mpps %7.2f Gbit/s | completed ok %llu, errors:%s | in flight %llu | mean batch %.1f",
                            elapsed_s, pps / 1e6, gbps, u(c.completed_ok), errors_by_status(c).c_str(), u(c.in_flight),
                            batch);
  if (rx_frames >= 0) line += format(" | received %lld", static_cast<long long>(rx_frames));
  return line;
}

std::string progress_json(double elapsed_s, uint64_t sent_delta, uint64_t bytes_delta, double interval_s,
                          const AdapterCounters& c, int64_t rx_frames) {
  nlohmann::json j;
  j["elapsed_s"] = elapsed_s;
  j["interval_s"] = interval_s;
  j["mpps"] = static_cast<double>(sent_delta) / interval_s / 1e6;
  j["gbps"] = static_cast<double>(bytes_delta) * 8 / interval_s / 1e9;
  j["completed_ok"] = c.completed_ok;
  nlohmann::json by_status = nlohmann::json::object();
  for (unsigned i = 0; i < status_count; ++i)
    if (c.completed_by_status[i] != 0) by_status[std::string(to_string(all_statuses[i]))] = c.completed_by_status[i];
  j["completed"] = by_status;
  j["in_flight"] = c.in_flight;
  j["mean_batch"] = c.batches ? static_cast<double>(c.batch_packets) / static_cast<double>(c.batches) : 0.0;
  if (rx_frames >= 0) j["received"] = rx_frames;
  return j.dump();
}

std::string summary_text(const Summary& s, const Options& o) {
  const auto& c = s.counters;
  std::string out = "pkio-gen summary\n";
  out += format("  completed  %llu ok (%llu bytes as they left, tags in), %llu with errors:%s\n", u(c.completed_ok),
                u(s.bytes), u(c.completed_error), errors_by_status(c).c_str());
  out += format("  duration   %.6f s, first submission to last completion%s%s\n", s.duration_s,
                s.stopped_by.empty() ? "" : "; stopped by ", s.stopped_by.c_str());
  // A capture's clock starts at the first frame on the wire, inside this span: on a run of a
  // few hundred microseconds the first call (cold caches) is a visible part of the duration.
  if (s.first_completion_s > 0 && s.first_completion_s > 0.02 * s.duration_s)
    out += format("  first call %.6f s to the first completion (%.0f %% of the duration; a capture's clock starts within it)\n",
                  s.first_completion_s, 100 * s.first_completion_s / s.duration_s);
  out += format("  rate       %.3f Mpps, %.3f Gbit/s frames, %.3f Gbit/s on the wire", s.mpps, s.gbps, s.line_gbps);
  if (s.link_speed_mbps)
    out += format(" (%.2f %% of %llu Mbit/s)", s.line_gbps * 1e5 / static_cast<double>(s.link_speed_mbps),
                  u(s.link_speed_mbps));
  out += "\n";
  if (s.target_pps > 0)
    out += format("  target     %.6f Mpps: achieved %.2f %% of it\n", s.target_pps / 1e6, 100 * s.mpps * 1e6 / s.target_pps);
  out += format("  accepted   %llu submitted, %llu refused at once (rejected_sync); in flight at exit %llu%s\n",
                u(c.submitted), u(c.rejected_sync), u(c.in_flight), s.drained ? "" : " (NOT drained: the device kept them)");
  out += format("  batches    %llu miniport calls, mean %.1f packets (limit %u), resources %llu, requeued %llu\n",
                u(c.batches), s.mean_batch, o.batch, u(c.resources_events), u(c.requeued));
  out += format("  latency    submit to completion p50 %.0f ns, p99 %.0f ns, p99.9 %.0f ns (within %.1f %%), max %.0f ns\n",
                s.latency_p50_ns, s.latency_p99_ns, s.latency_p999_ns, LatencyHistogram::resolution * 100,
                s.latency_max_ns);
  out += format("  violations%s\n", violations_text(c.violations).c_str());
  if (s.replay) {
    out += format("  replay     %s: %llu frames in the capture\n", o.pcap.c_str(), u(s.trace_frames));
  } else if (s.stream_sent.size() > 1) {
    out += "  streams   ";
    for (const auto& [name, n] : s.stream_sent) out += format(" %s=%llu", name.c_str(), u(n));
    out += "\n";
  }
  if (s.receive.enabled) {
    const auto& r = s.receive;
    out += format("  received   %llu frames: %llu stamped, %llu other; %llu unique of %llu sent, lost %llu, "
                  "duplicates %llu, reordered %llu, bad checksum %llu\n",
                  u(r.frames), u(r.stamped), u(r.other), u(r.unique), u(r.sent), u(r.lost), u(r.duplicates),
                  u(r.reordered), u(r.bad_checksum));
    out += format("  one-way    stamp to receipt p50 %.0f ns, p99 %.0f ns, p99.9 %.0f ns (within %.1f %%), max %.0f ns\n",
                  r.latency_p50_ns, r.latency_p99_ns, r.latency_p999_ns, LatencyHistogram::resolution * 100,
                  r.latency_max_ns);
  }
  if (s.csv) out += format("  csv        %llu rows written, %llu dropped (a reader slower than the run)\n", u(s.csv_rows), u(s.csv_dropped));
  return out;
}

std::string summary_json(const Summary& s, const Options& o) {
  const auto& c = s.counters;
  nlohmann::json j;
  for (const CounterField& f : counter_fields) j[f.name] = c.*f.field;  // the names telemetry uses
  nlohmann::json by_status = nlohmann::json::object();
  for (unsigned i = 0; i < status_count; ++i)
    if (c.completed_by_status[i] != 0) by_status[std::string(to_string(all_statuses[i]))] = c.completed_by_status[i];
  j["completed_by_status"] = by_status;
  nlohmann::json violations = nlohmann::json::object();
  for (std::size_t i = 0; i < std::size(violation_names); ++i) violations[violation_names[i]] = violation_count(c.violations, i);
  j["violations"] = violations;
  j["drained"] = s.drained;
  j["stopped_by"] = s.stopped_by.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.stopped_by);
  j["duration_s"] = s.duration_s;
  j["duration_from"] = "first submission to last completion";
  j["first_completion_s"] = s.first_completion_s;
  j["bytes"] = s.bytes;
  j["mpps"] = s.mpps;
  j["gbps"] = s.gbps;
  j["line_gbps"] = s.line_gbps;
  j["link_speed_mbps"] = s.link_speed_mbps;
  if (s.link_speed_mbps) j["line_rate_percent"] = s.line_gbps * 1e5 / static_cast<double>(s.link_speed_mbps);
  if (s.target_pps > 0) {
    j["target_pps"] = s.target_pps;
    j["achieved_of_target"] = s.mpps * 1e6 / s.target_pps;
  }
  j["mean_batch"] = s.mean_batch;
  j["latency_ns"] = {{"p50", s.latency_p50_ns}, {"p99", s.latency_p99_ns}, {"p999", s.latency_p999_ns},
                     {"max", s.latency_max_ns}, {"resolution", LatencyHistogram::resolution}};
  if (s.replay) {
    j["replay"] = {{"pcap", o.pcap}, {"trace_frames", s.trace_frames}, {"loops", o.loops},
                   {"speed", o.replay_speed}};
  } else {
    nlohmann::json sent = nlohmann::json::object();
    for (const auto& [name, n] : s.stream_sent) sent[name] = n;
    j["stream_sent"] = sent;
  }
  if (s.receive.enabled) {
    const auto& r = s.receive;
    j["receive"] = {{"frames", r.frames}, {"stamped", r.stamped}, {"other", r.other}, {"sent", r.sent},
                    {"unique", r.unique}, {"lost", r.lost}, {"duplicates", r.duplicates}, {"reordered", r.reordered},
                    {"bad_checksum", r.bad_checksum},
                    {"latency_ns", {{"p50", r.latency_p50_ns}, {"p99", r.latency_p99_ns}, {"p999", r.latency_p999_ns},
                                    {"max", r.latency_max_ns}, {"resolution", LatencyHistogram::resolution}}}};
  }
  if (s.csv) j["csv"] = {{"path", o.csv}, {"rows", s.csv_rows}, {"dropped", s.csv_dropped}};
  nlohmann::json config = {{"port", o.port}, {"queues", o.queues}, {"count", o.count}, {"duration_s", o.duration_s},
                           {"rate", o.rate_text}, {"rate_pps", s.target_pps}, {"pacing", to_text(o.pacing.mode)},
                           {"burst", o.pacing.burst}, {"batch", o.batch}, {"window", o.window}, {"pool", o.pool},
                           {"completion", o.copy ? "on_accept" : "on_free"}, {"profile", o.profile},
                           {"rx_port", o.rx_port}};
  if (s.replay) {
    config["pcap"] = o.pcap;
    config["loops"] = o.loops;
    config["replay_speed"] = o.replay_speed;
  } else {
    nlohmann::json streams = nlohmann::json::array();
    for (const auto& st : o.streams)
      streams.push_back({{"name", st.name}, {"weight", st.weight}, {"ip", to_text(st.ip)},
                         {"transport", to_text(st.transport)}, {"size", to_text(st.size)},
                         {"mean_size", st.size.mean()}, {"vlan", st.vlan}, {"priority", st.priority},
                         {"src_mac", to_text(st.src_mac, FieldKind::mac)}, {"dst_mac", to_text(st.dst_mac, FieldKind::mac)},
                         {"src_ip", to_text(st.src_ip, st.ip == IpVersion::v4 ? FieldKind::ipv4 : FieldKind::ipv6)},
                         {"dst_ip", to_text(st.dst_ip, st.ip == IpVersion::v4 ? FieldKind::ipv4 : FieldKind::ipv6)},
                         {"src_port", to_text(st.src_port, FieldKind::port)}, {"dst_port", to_text(st.dst_port, FieldKind::port)}});
    config["streams"] = streams;
  }
  j["config"] = config;
  return j.dump(2) + "\n";
}

}  // namespace pkio::gen
