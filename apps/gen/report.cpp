#include "report.h"

#include <nlohmann/json.hpp>

#include <cstdio>

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
}  // namespace

std::string progress_line(double elapsed_s, uint64_t sent_delta, uint64_t bytes_delta,
                          double interval_s, const AdapterCounters& c, int64_t rx_frames) {
  const double pps = static_cast<double>(sent_delta) / interval_s;
  const double gbps = static_cast<double>(bytes_delta) * 8 / interval_s / 1e9;
  const double batch = c.batches ? static_cast<double>(c.batch_packets) / static_cast<double>(c.batches) : 0;
  std::string line = format("[%6.1fs] %8.3f Mpps %7.2f Gbit/s | completed ok %llu, errors:%s | in flight %llu | mean batch %.1f",
                            elapsed_s, pps / 1e6, gbps, static_cast<unsigned long long>(c.completed_ok),
                            errors_by_status(c).c_str(), static_cast<unsigned long long>(c.in_flight), batch);
  if (rx_frames >= 0) line += format(" | received %lld", static_cast<long long>(rx_frames));
  return line;
}

std::string summary_text(const Summary& s, const Options& o) {
  const auto& c = s.counters;
  std::string out = "pkio-gen summary\n";
  out += format("  sent       %llu packets (%llu frame bytes) in %.3f s%s\n",
                static_cast<unsigned long long>(c.submitted), static_cast<unsigned long long>(s.frame_bytes),
                s.duration_s, s.interrupted ? " (stopped by signal)" : "");
  out += format("  rate       %.3f Mpps, %.3f Gbit/s frames, %.3f Gbit/s on the wire", s.mpps, s.gbps, s.line_gbps);
  if (s.link_speed_mbps) out += format(" (%.1f %% of %llu Mbit/s)", s.line_gbps * 1e5 / static_cast<double>(s.link_speed_mbps), static_cast<unsigned long long>(s.link_speed_mbps));
  out += "\n";
  if (s.target_pps > 0)
    out += format("  target     %.3f Mpps: achieved %.2f %% of it\n", s.target_pps / 1e6, 100 * s.mpps * 1e6 / s.target_pps);
  out += format("  completed  ok %llu, errors %llu:%s\n", static_cast<unsigned long long>(c.completed_ok),
                static_cast<unsigned long long>(c.completed_error), errors_by_status(c).c_str());
  out += format("  rejected   %llu at once; in flight at exit %llu%s\n", static_cast<unsigned long long>(c.rejected_sync),
                static_cast<unsigned long long>(c.in_flight), s.drained ? "" : " (NOT drained: the device kept them)");
  out += format("  batches    %llu miniport calls, mean %.1f packets (limit %u), resources %llu\n",
                static_cast<unsigned long long>(c.batches), s.mean_batch, o.batch,
                static_cast<unsigned long long>(c.resources_events));
  out += format("  latency    submit to completion p50 %.0f ns, p99 %.0f ns, p99.9 %.0f ns\n",
                s.latency_p50_ns, s.latency_p99_ns, s.latency_p999_ns);
  if (o.streams.size() > 1 && o.pcap.empty()) {
    out += "  streams   ";
    for (size_t i = 0; i < o.streams.size() && i < s.stream_sent.size(); ++i)
      out += format(" %s=%llu", o.streams[i].name.c_str(), static_cast<unsigned long long>(s.stream_sent[i]));
    out += "\n";
  }
  if (s.receive.enabled) {
    const auto& r = s.receive;
    out += format("  received   %llu frames: %llu stamped of %llu sent, lost %llu, duplicates %llu, reordered %llu, bad checksum %llu, other %llu\n",
                  static_cast<unsigned long long>(r.frames), static_cast<unsigned long long>(r.unique),
                  static_cast<unsigned long long>(r.sent), static_cast<unsigned long long>(r.lost),
                  static_cast<unsigned long long>(r.duplicates), static_cast<unsigned long long>(r.reordered),
                  static_cast<unsigned long long>(r.bad_checksum), static_cast<unsigned long long>(r.other));
    out += format("  one-way    stamp to receipt p50 %.0f ns, p99 %.0f ns, p99.9 %.0f ns, max %.0f ns\n",
                  r.latency_p50_ns, r.latency_p99_ns, r.latency_p999_ns, r.latency_max_ns);
  }
  return out;
}

std::string summary_json(const Summary& s, const Options& o) {
  const auto& c = s.counters;
  nlohmann::json by_status = nlohmann::json::object();
  for (unsigned i = 0; i < status_count; ++i)
    if (c.completed_by_status[i] != 0) by_status[std::string(to_string(all_statuses[i]))] = c.completed_by_status[i];
  nlohmann::json j = {
      {"submitted", c.submitted},
      {"rejected", c.rejected_sync},
      {"completed_ok", c.completed_ok},
      {"completed_error", c.completed_error},
      {"completed_by_status", by_status},
      {"in_flight", c.in_flight},
      {"drained", s.drained},
      {"interrupted", s.interrupted},
      {"duration_s", s.duration_s},
      {"mpps", s.mpps},
      {"gbps", s.gbps},
      {"line_gbps", s.line_gbps},
      {"target_pps", s.target_pps},
      {"frame_bytes", s.frame_bytes},
      {"batches", {{"calls", c.batches}, {"mean", s.mean_batch}, {"resources", c.resources_events},
                   {"requeued", c.requeued}}},
      {"latency_ns", {{"p50", s.latency_p50_ns}, {"p99", s.latency_p99_ns}, {"p999", s.latency_p999_ns}}},
      {"stream_sent", s.stream_sent},
  };
  nlohmann::json streams = nlohmann::json::array();
  for (const auto& st : o.streams)
    streams.push_back({{"name", st.name}, {"weight", st.weight}, {"ip", to_text(st.ip)},
                       {"transport", to_text(st.transport)}, {"size", to_text(st.size)},
                       {"mean_size", st.size.mean()}, {"vlan", st.vlan}, {"priority", st.priority},
                       {"src_mac", to_text(st.src_mac, FieldKind::mac)}, {"dst_mac", to_text(st.dst_mac, FieldKind::mac)},
                       {"src_ip", to_text(st.src_ip, st.ip == IpVersion::v4 ? FieldKind::ipv4 : FieldKind::ipv6)},
                       {"dst_ip", to_text(st.dst_ip, st.ip == IpVersion::v4 ? FieldKind::ipv4 : FieldKind::ipv6)},
                       {"src_port", to_text(st.src_port, FieldKind::port)}, {"dst_port", to_text(st.dst_port, FieldKind::port)}});
  j["config"] = {{"port", o.port}, {"queues", o.queues}, {"count", o.count}, {"duration_s", o.duration_s},
                 {"rate", o.rate_text}, {"rate_pps", s.target_pps}, {"pacing", to_text(o.pacing.mode)},
                 {"burst", o.pacing.burst}, {"batch", o.batch}, {"window", o.window}, {"pool", o.pool},
                 {"completion", o.copy ? "on_accept" : "on_free"}, {"profile", o.profile}, {"pcap", o.pcap},
                 {"loops", o.loops}, {"replay_speed", o.replay_speed}, {"rx_port", o.rx_port}, {"streams", streams}};
  if (s.target_pps > 0) j["achieved_of_target"] = s.mpps * 1e6 / s.target_pps;
  if (s.receive.enabled) {
    const auto& r = s.receive;
    j["receive"] = {{"frames", r.frames}, {"stamped", r.ours}, {"other", r.other}, {"sent", r.sent},
                    {"unique", r.unique}, {"lost", r.lost}, {"duplicates", r.duplicates}, {"reordered", r.reordered},
                    {"bad_checksum", r.bad_checksum},
                    {"latency_ns", {{"p50", r.latency_p50_ns}, {"p99", r.latency_p99_ns}, {"p999", r.latency_p999_ns}, {"max", r.latency_max_ns}}}};
  }
  return j.dump(2) + "\n";
}

}  // namespace pkio::gen
