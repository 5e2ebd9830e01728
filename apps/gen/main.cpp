// pkio-gen: a packet generator on pkio's public API. Usage: pkio-gen [EAL args] -- [options].
// main() reads as its steps: options, outputs (opened before anything is sent), bring-up,
// the run, the report. Exit statuses: apps/common/command_line.h (exit_status).
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <pkio/cycles.h>
#include <pkio/dpdk/eal.h>
#include <pkio/metrics.h>
#include <pkio/version.h>

#include "command_line.h"
#include "files.h"
#include "generator.h"
#include "receiver.h"
#include "report.h"
#include "signals.h"
#include "threads.h"
#include "trace.h"

namespace {

using namespace pkio;
constexpr const char* program = "pkio-gen";

/// The reports, opened before the run.
struct Outputs {
  std::unique_ptr<apps::OutputFile> json;
  std::vector<std::unique_ptr<apps::OutputFile>> csv;  // one per queue: FILE, FILE.q1, ...
};

Result<Outputs> open_outputs(const gen::Options& o) {
  Outputs out;
  std::vector<const apps::OutputFile*> all;
  if (!o.json.empty()) {
    auto f = apps::OutputFile::open("--json", o.json);
    if (!f) return tl::unexpected(f.error());
    out.json = std::move(*f);
    all.push_back(out.json.get());
  }
  for (uint16_t q = 0; q < o.queues && !o.csv.empty(); ++q) {
    const std::string path = q == 0 ? o.csv : o.csv + ".q" + std::to_string(q);
    auto f = apps::OutputFile::open("--csv", path, /*nonblocking=*/true);
    if (!f) return tl::unexpected(f.error());
    out.csv.push_back(std::move(*f));
    all.push_back(out.csv.back().get());
  }
  if (auto distinct = apps::distinct_outputs(all); !distinct) return tl::unexpected(distinct.error());
  return out;
}

/// What the run needs, brought up in order.
struct Generator {
  std::unique_ptr<dpdk::Port> port, other_port;
  dpdk::Port* rx_port = nullptr;
  gen::Trace trace;
  std::vector<std::unique_ptr<gen::QueueSender>> senders;
  std::unique_ptr<gen::Receiver> receiver;
  double rate_pps = 0;
  uint64_t link_speed_mbps = 0;
  ~Generator() {
    senders.clear();  // their adapters halt before the ports go
    receiver.reset();
    other_port.reset();
    port.reset();
  }
};

Result<std::unique_ptr<Generator>> bring_up(const gen::Options& o, const std::vector<std::string>& eal_args,
                                            Outputs& outputs) {
  if (auto up = dpdk::eal_init(eal_args); !up) return tl::unexpected(up.error());
  auto g = std::make_unique<Generator>();
  auto id = dpdk::Port::find(o.port);
  if (!id) return failure_of(Status::failure, "--port: " + id.error().message);
  dpdk::PortConfig pc;
  pc.tx_queues = o.queues;
  pc.mtu = o.mtu;
  uint32_t mbufs = 8191;
  while (mbufs < static_cast<uint32_t>(o.queues) * (o.pool + 1024)) mbufs = mbufs * 2 + 1;
  pc.mbufs = mbufs;
  auto port = dpdk::Port::open(*id, pc);
  if (!port) return tl::unexpected(port.error());
  g->port = std::move(*port);

  rte_eth_link link{};
  rte_eth_link_get_nowait(g->port->id(), &link);
  g->link_speed_mbps = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
  std::string error;
  if (!o.pcap.empty() && !gen::load_trace(o.pcap, 65535, g->trace, error)) return failure_of(Status::failure, error);
  double mean_frame = o.mean_frame();
  if (!o.pcap.empty())
    mean_frame = static_cast<double>(g->trace.bytes.size()) / static_cast<double>(g->trace.frames.size());
  g->rate_pps = o.rate_pps;
  if (o.rate_bps > 0) g->rate_pps = o.rate_bps / ((mean_frame + 24) * 8);
  if (o.rate_percent > 0) {
    if (g->link_speed_mbps == 0)
      return failure_of(Status::failure, "--rate " + o.rate_text + ": the port does not report a link speed");
    g->rate_pps = o.rate_percent / 100.0 * static_cast<double>(g->link_speed_mbps) * 1e6 / ((mean_frame + 24) * 8);
  }

  // The receive side: the same port (a net_ring loop) or another one (the peer of a veth pair).
  if (!o.rx_port.empty()) {
    auto rx_id = dpdk::Port::find(o.rx_port);
    if (!rx_id) return failure_of(Status::failure, "--rx-port: " + rx_id.error().message);
    if (*rx_id == g->port->id()) {
      g->rx_port = g->port.get();
    } else {
      dpdk::PortConfig rc;
      rc.mbufs = 8191;
      rc.mtu = o.mtu;  // the peer receives what is sent
      auto other = dpdk::Port::open(*rx_id, rc);
      if (!other) return failure_of(Status::failure, "--rx-port: " + other.error().message);
      g->other_port = std::move(*other);
      g->rx_port = g->other_port.get();
    }
    g->receiver = std::make_unique<gen::Receiver>(g->rx_port->id(), static_cast<uint32_t>(o.queues * o.streams.size()));
  }

  for (uint16_t q = 0; q < o.queues; ++q) {
    std::unique_ptr<gen::CsvLog> csv;
    if (!outputs.csv.empty()) {
      auto log = gen::CsvLog::start(std::move(outputs.csv[q]), q);
      if (!log) return tl::unexpected(log.error());
      csv = std::move(*log);
    }
    std::unique_ptr<gen::QueueSender> s;
    if (gen::QueueSender::create(*g->port, q, o, o.pcap.empty() ? nullptr : &g->trace, std::move(csv), s, error) !=
        Status::success)
      return failure_of(Status::failure, error);
    g->senders.push_back(std::move(s));
  }
  return g;
}

std::string what_is_sent(const gen::Options& o, const Generator& g) {
  std::string what = o.pcap.empty() ? "" : " of " + o.pcap + " (" + std::to_string(g.trace.frames.size()) + " frames)";
  for (const auto& st : o.streams)
    if (o.pcap.empty())
      what += (what.empty() ? " " : ", ") + gen::to_text(st.ip) + "/" + gen::to_text(st.transport) + " frames of " +
              gen::to_text(st.size) + " bytes" + (st.vlan || st.priority ? " (802.1Q tag included)" : "");
  std::string how = g.rate_pps > 0 ? ", " + std::to_string(g.rate_pps / 1e6).substr(0, 7) + " Mpps " + gen::to_text(o.pacing.mode)
                    : !o.pcap.empty() && o.replay_speed > 0 ? ", at " + std::to_string(o.replay_speed).substr(0, 5) + "x the recorded timing"
                                                            : ", as fast as possible";
  std::string limit = o.count ? " " + std::to_string(o.count) + " packets" : "";
  if (o.duration_s > 0) limit += std::string(o.count ? " for at most " : " for ") + std::to_string(o.duration_s).substr(0, 5) + " s";
  if (o.count == 0 && o.duration_s == 0 && (o.pcap.empty() || o.loops == 0)) limit += " until a signal stops it";
  return "sending" + limit + what + " on " + std::to_string(o.queues) + " queue(s), batch " + std::to_string(o.batch) +
         how + (g.rx_port ? ", receiving on " + g.rx_port->name() : "") + "; Ctrl-C stops\n";
}

/// Text for people: on stdout, or on stderr when stdout carries JSON progress lines.
void say(const gen::Options& o, const std::string& text) {
  if (o.progress_json) std::fputs(text.c_str(), stderr);
  else apps::print(text);
}

/// The generator's own families for --metrics: sent per queue and stream, and the receive
/// side. Reads only counters its threads keep readable (QueueTotals, LiveCount, histograms).
void write_generator_metrics(std::string& out, Generator& g, const gen::Options& o) {
  metrics::Writer w(out);
  w.family("pkio_gen_sent_packets_total", "counter", "Packets pkio-gen handed to send_packets, per queue.");
  for (size_t q = 0; q < g.senders.size(); ++q)
    w.sample("pkio_gen_sent_packets_total", metrics::Writer::labels({{"queue", std::to_string(q)}}),
             g.senders[q]->totals().sent.load(std::memory_order_relaxed));
  w.family("pkio_gen_sent_bytes_total", "counter", "Their frame bytes as they leave the port (802.1Q tags in, no FCS).");
  for (size_t q = 0; q < g.senders.size(); ++q)
    w.sample("pkio_gen_sent_bytes_total", metrics::Writer::labels({{"queue", std::to_string(q)}}),
             g.senders[q]->totals().bytes.load(std::memory_order_relaxed));
  if (o.pcap.empty()) {
    w.family("pkio_gen_stream_sent_packets_total", "counter", "Packets built for each stream, per queue.");
    for (size_t q = 0; q < g.senders.size(); ++q)
      for (size_t i = 0; i < g.senders[q]->stream_count(); ++i)
        w.sample("pkio_gen_stream_sent_packets_total",
                 metrics::Writer::labels({{"stream", o.streams[i].name}, {"queue", std::to_string(q)}}),
                 g.senders[q]->stream_sent(i));
  }
  if (!g.receiver) return;
  const auto& t = g.receiver->totals();
  w.family("pkio_gen_received_frames_total", "counter", "Frames received on --rx-port, by kind (stamped by pkio-gen, or other).");
  w.sample("pkio_gen_received_frames_total", "kind=\"stamped\"", t.ours.get());
  w.sample("pkio_gen_received_frames_total", "kind=\"other\"", t.other.get());
  uint64_t unique = 0, duplicates = 0, reordered = 0, sent = 0;
  for (auto& q : g.senders)
    for (size_t i = 0; i < q->stream_count(); ++i) {
      const auto& flow = g.receiver->flow(q->flow_of(i));
      sent += q->stream_sent(i);
      unique += flow.unique();
      duplicates += flow.duplicates;
      reordered += flow.reordered;
    }
  w.family("pkio_gen_duplicated_frames_total", "counter", "Stamped frames received more than once.");
  w.sample("pkio_gen_duplicated_frames_total", "", duplicates);
  w.family("pkio_gen_reordered_frames_total", "counter", "Stamped frames that arrived after a later one of their flow.");
  w.sample("pkio_gen_reordered_frames_total", "", reordered);
  w.family("pkio_gen_not_received_packets", "gauge",
           "Packets sent and not (yet) received: in flight while running, lost once the run has drained.");
  w.sample("pkio_gen_not_received_packets", "", sent > unique ? sent - unique : 0);
  w.family("pkio_gen_one_way_latency_seconds", "histogram", "Transmit stamp to receipt of stamped frames.");
  metrics::write_latency(w, "pkio_gen_one_way_latency_seconds", "", t.latency);
}

/// Sends on every queue, receives, and prints a progress line a second until the senders end.
void run(Generator& g, const gen::Options& o) {
  // Threads go on the EAL lcores in order (apps/common/threads.h); more threads than lcores
  // share cores, which a rate must not be read without knowing.
  const unsigned threads_wanted = o.queues + (g.receiver ? 1u : 0u);
  if (threads_wanted > apps::eal_lcore_count())
    std::fprintf(stderr, "pkio-gen: note: %u sending/receiving thread(s) on %u EAL lcore(s): some share a core (give -l more cores)\n",
                 threads_wanted, apps::eal_lcore_count());
  std::atomic<bool> senders_done{false};
  std::thread receiver_thread;
  if (g.receiver)
    receiver_thread = std::thread([&] {
      apps::run_on_lcore(o.queues);  // beside the senders, if EAL was given a core for it
      if (rte_lcore_id() == LCORE_ID_ANY) (void)rte_thread_register();
      g.receiver->run(senders_done, 200, 5000);
    });
  std::atomic<unsigned> running{o.queues};
  std::vector<std::thread> threads;
  for (uint16_t q = 0; q < o.queues; ++q) {
    const uint64_t count = o.count ? o.count / o.queues + (q < o.count % o.queues ? 1 : 0) : 0;
    threads.emplace_back([&, q, count] {
      apps::run_on_lcore(q);  // queue q on the q-th EAL lcore, the main one first
      if (rte_lcore_id() == LCORE_ID_ANY) (void)rte_thread_register();  // mempool cache
      g.senders[q]->run(apps::stop_requested(), count, o.duration_s, g.rate_pps / o.queues, 5.0);
      --running;
    });
  }
  // Progress once a second from this thread, from the counters; the senders never wait for it.
  const auto start = std::chrono::steady_clock::now();
  uint64_t last_sent = 0, last_bytes = 0;
  auto last = start;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto now = std::chrono::steady_clock::now();
    const double interval = std::chrono::duration<double>(now - last).count();
    if (interval < 1.0 || o.quiet) continue;
    uint64_t sent = 0, bytes = 0;
    AdapterCounters c{};
    for (auto& s : g.senders) {
      sent += s->totals().sent.load();
      bytes += s->totals().bytes.load();
      const auto qc = s->adapter().counters();
      c.completed_ok += qc.completed_ok;
      c.in_flight += qc.in_flight;
      c.batches += qc.batches;
      c.batch_packets += qc.batch_packets;
      for (unsigned i = 0; i < status_count; ++i) c.completed_by_status[i] += qc.completed_by_status[i];
    }
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const int64_t received = g.receiver ? static_cast<int64_t>(g.receiver->frames()) : -1;
    apps::print((o.progress_json ? gen::progress_json(elapsed, sent - last_sent, bytes - last_bytes, interval, c, received)
                                 : gen::progress_line(elapsed, sent - last_sent, bytes - last_bytes, interval, c, received)) +
                "\n");
    last_sent = sent;
    last_bytes = bytes;
    last = now;
  }
  for (auto& t : threads) t.join();
  senders_done.store(true);
  if (receiver_thread.joinable()) receiver_thread.join();
}

gen::Summary summarize(Generator& g, const gen::Options& o) {
  gen::Summary s;
  LatencyHistogram latency;
  uint64_t first = UINT64_MAX, first_completion = UINT64_MAX, last = 0, failed_bytes = 0, sent_bytes = 0;
  for (auto& q : g.senders) {
    const auto qc = q->adapter().counters();
    for (const CounterField& f : counter_fields) s.counters.*f.field += qc.*f.field;
    for (unsigned i = 0; i < status_count; ++i) s.counters.completed_by_status[i] += qc.completed_by_status[i];
    for (std::size_t i = 0; i < std::size(violation_names); ++i)
      reinterpret_cast<uint64_t*>(&s.counters.violations)[i] += violation_count(qc.violations, i);
    sent_bytes += q->totals().bytes.load();
    failed_bytes += q->totals().failed_bytes.load();
    s.drained = s.drained && q->drained();
    latency.merge(q->adapter().latency_cycles());
    if (q->first_submit_cycles() != 0) {
      first = std::min(first, q->first_submit_cycles());
      last = std::max(last, q->last_completion_cycles());
      if (q->first_completion_cycles() != 0) first_completion = std::min(first_completion, q->first_completion_cycles());
    }
    if (q->csv() != nullptr) {
      s.csv = true;
      s.csv_rows += q->csv()->written();
      s.csv_dropped += q->csv()->dropped();
    }
  }
  // Sent means completed: a packet counts once it came back with success, over the time from
  // the first submission to the last completion.
  s.duration_s = last > first ? static_cast<double>(last - first) / static_cast<double>(cycles_per_second()) : 0;
  if (first_completion != UINT64_MAX && first_completion > first)
    s.first_completion_s = static_cast<double>(first_completion - first) / static_cast<double>(cycles_per_second());
  s.bytes = sent_bytes - std::min(sent_bytes, failed_bytes);
  if (s.duration_s > 0) {
    s.mpps = static_cast<double>(s.counters.completed_ok) / s.duration_s / 1e6;
    s.gbps = static_cast<double>(s.bytes) * 8 / s.duration_s / 1e9;
    s.line_gbps = static_cast<double>(s.bytes + 24 * s.counters.completed_ok) * 8 / s.duration_s / 1e9;
  }
  s.target_pps = g.rate_pps;
  s.mean_batch = s.counters.batches ? static_cast<double>(s.counters.batch_packets) / static_cast<double>(s.counters.batches) : 0;
  const auto ns = [](uint64_t cycles) { return cycles_to_ns(static_cast<double>(cycles)); };
  s.latency_p50_ns = ns(latency.percentile(0.50));
  s.latency_p99_ns = ns(latency.percentile(0.99));
  s.latency_p999_ns = ns(latency.percentile(0.999));
  s.latency_max_ns = ns(latency.max());
  s.link_speed_mbps = g.link_speed_mbps;
  s.stopped_by = apps::stop_signal_name();
  s.replay = !o.pcap.empty();
  s.trace_frames = g.trace.frames.size();
  if (!s.replay)
    for (size_t i = 0; i < o.streams.size(); ++i) {
      uint64_t n = 0;
      for (auto& q : g.senders) n += q->stream_sent(i);
      s.stream_sent.emplace_back(o.streams[i].name, n);
    }
  if (g.receiver) {
    auto& r = s.receive;
    const auto& t = g.receiver->totals();
    r.enabled = true;
    r.frames = t.frames;
    r.stamped = t.ours;
    r.other = t.other;
    r.bad_checksum = t.bad_checksum;
    for (auto& q : g.senders) {
      for (size_t i = 0; i < o.streams.size() && o.pcap.empty(); ++i) {
        const auto& spec = o.streams[i];
        const uint32_t tag = spec.vlan || spec.priority ? gen::tag_bytes : 0;
        if (spec.size.min - tag < gen::layout_of(spec.ip, spec.transport).stamped()) continue;  // no stamps to follow
        const auto& flow = g.receiver->flow(q->flow_of(i));
        r.sent += q->stream_sent(i);
        r.unique += flow.unique();
        r.duplicates += flow.duplicates;
        r.reordered += flow.reordered;
        r.lost += q->stream_sent(i) > flow.unique() ? q->stream_sent(i) - flow.unique() : 0;
      }
    }
    r.latency_p50_ns = ns(t.latency.percentile(0.50));
    r.latency_p99_ns = ns(t.latency.percentile(0.99));
    r.latency_p999_ns = ns(t.latency.percentile(0.999));
    r.latency_max_ns = ns(t.latency.max());
  }
  return s;
}

/// Finishes the CSV, writes the JSON report, then the summary: a closed stdout cannot cost
/// the report. The first failure decides the exit status.
int report(Generator& g, const gen::Options& o, Outputs& outputs) {
  int code = apps::exit_status::ok;
  for (auto& q : g.senders)
    if (q->csv() != nullptr)
      if (auto closed = q->csv()->finish(1.0); !closed) code = apps::fail(program, closed.error().message, apps::exit_status::output_failed);
  const gen::Summary s = summarize(g, o);
  if (outputs.json) {
    outputs.json->write(gen::summary_json(s, o));
    if (auto closed = outputs.json->close(); !closed)
      code = apps::fail(program, closed.error().message, apps::exit_status::output_failed);
  }
  say(o, gen::summary_text(s, o));
  if (auto out = apps::stdout_result(); !out)
    code = apps::fail(program, out.error().message + (o.json.empty() ? " (the summary is lost; --json FILE keeps a report)" : ""),
                      apps::exit_status::output_failed);
  if (code == apps::exit_status::ok && !s.drained) code = apps::exit_status::not_drained;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  apps::install_stop_signals();  // first: a signal at any moment ends with a summary
  std::vector<std::string> eal_args, app_args;
  dpdk::split_args(argc, argv, eal_args, app_args);

  int exit_code = 0;
  std::string error, help;
  const auto parsed = gen::parse_options(app_args, exit_code, error, help);
  if (!parsed) {
    if (exit_code == 0) {
      std::printf("%s\n", help.c_str());
      return 0;
    }
    return apps::fail(program, error + " (see --help)");
  }
  const gen::Options& o = *parsed;
  auto outputs = open_outputs(o);
  if (!outputs) return apps::fail(program, outputs.error().message);

  auto g = bring_up(o, eal_args, *outputs);
  if (!g) return apps::fail(program, g.error().message);
  say(o, std::string("pkio-gen ") + PKIO_VERSION + ": " + (*g)->port->placement() + "\n");
  std::unique_ptr<metrics::Endpoint> endpoint;
  if (!o.metrics.empty()) {
    auto started = metrics::Endpoint::start(o.metrics);
    if (!started) return apps::fail(program, "--metrics: " + started.error().message);
    endpoint = std::move(*started);
    for (size_t q = 0; q < (*g)->senders.size(); ++q)
      endpoint->add((*g)->senders[q]->adapter(), {"gen.q" + std::to_string(q), o.port, static_cast<uint16_t>(q)});
    Generator* gen = g->get();
    endpoint->add_source([gen, &o](std::string& out) { write_generator_metrics(out, *gen, o); });
    std::fprintf(stderr, "pkio-gen: metrics at %s\n", endpoint->url().c_str());
  }
  if (apps::stop_requested()) {
    say(o, std::string("stopped by ") + apps::stop_signal_name() + " before sending started\n");
  } else {
    say(o, what_is_sent(o, **g));
    run(**g, o);
  }
  const int code = report(**g, o, *outputs);
  if (endpoint) {
    // The final counts stay up a moment, so that a scraper's last look matches the report.
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.metrics_linger_s);
    const unsigned signals = apps::stop_signals_seen();
    while (std::chrono::steady_clock::now() < until && apps::stop_signals_seen() == signals)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    endpoint.reset();  // before the adapters it reads go
  }
  g->reset();
  dpdk::eal_cleanup();
  return code;
}
