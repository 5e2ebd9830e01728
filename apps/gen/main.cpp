// pkio-gen: a packet generator on pkio's public API. Usage: pkio-gen [EAL args] -- [options].
// Exit status: 0 done (also after SIGINT/SIGTERM, once everything in flight completed),
// 1 packets still in flight after the drain timeout, 2 bad options or an EAL/port problem.
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include <pkio/cycles.h>
#include <pkio/dpdk/eal.h>
#include "generator.h"
#include "receiver.h"
#include "trace.h"
#include "threads.h"
#include "report.h"
#include <pkio/version.h>

namespace {

std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};

void on_signal(int signal) {
  stop_signal.store(signal);
  stop_requested.store(true);
}

int fail(const std::string& message, int code = 2) {
  std::fprintf(stderr, "pkio-gen: %s\n", message.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pkio;
  std::vector<std::string> eal_args, app_args;
  dpdk::split_args(argc, argv, eal_args, app_args);
  int exit_code = 0;
  std::string error, help;
  auto parsed = gen::parse_options(app_args, exit_code, error, help);
  if (!parsed) {
    if (exit_code == 0) {
      std::printf("%s\n", help.c_str());
      return 0;
    }
    return fail(error + " (see --help)");
  }
  gen::Options o = *parsed;

  if (auto up = dpdk::eal_init(eal_args); !up) return fail(up.error().message);
  uint16_t port_id = 0;
  if (auto found = dpdk::Port::find(o.port); found) port_id = *found;
  else return fail(found.error().message);
  dpdk::PortConfig pc;
  pc.tx_queues = o.queues;
  pc.mtu = o.mtu;
  uint32_t mbufs = 8191;
  while (mbufs < static_cast<uint32_t>(o.queues) * (o.pool + 1024)) mbufs = mbufs * 2 + 1;
  pc.mbufs = mbufs;
  std::unique_ptr<dpdk::Port> port;
  if (auto opened = dpdk::Port::open(port_id, pc); opened) port = std::move(*opened);
  else return fail(opened.error().message);
  std::printf("pkio-gen %s: %s\n", PKIO_VERSION, port->placement().c_str());

  rte_eth_link link{};
  rte_eth_link_get_nowait(port_id, &link);
  gen::Trace trace;
  if (!o.pcap.empty() && !gen::load_trace(o.pcap, 65535, trace, error)) return fail(error);
  double mean_frame = o.mean_frame();
  if (!o.pcap.empty()) mean_frame = static_cast<double>(trace.bytes.size()) / static_cast<double>(trace.frames.size());
  double rate_pps = o.rate_pps;
  if (o.rate_bps > 0) rate_pps = o.rate_bps / ((mean_frame + 24) * 8);
  if (o.rate_percent > 0) {
    if (link.link_speed == 0 || link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN)
      return fail("--rate " + o.rate_text + ": the port does not report a link speed");
    rate_pps = o.rate_percent / 100.0 * link.link_speed * 1e6 / ((mean_frame + 24) * 8);
  }

  // The receive side: the same port (a net_ring loop) or another one (the peer of a veth pair).
  dpdk::Port* rx_port = nullptr;
  std::unique_ptr<dpdk::Port> other_port;
  if (!o.rx_port.empty()) {
    uint16_t rx_id = 0;
    if (auto found = dpdk::Port::find(o.rx_port); found) rx_id = *found;
  else return fail("--rx-port: " + found.error().message);
    if (rx_id == port_id) {
      rx_port = port.get();
    } else {
      dpdk::PortConfig rc;
      rc.mbufs = 8191;
      rc.mtu = o.mtu;  // the peer receives what is sent
      if (auto opened = dpdk::Port::open(rx_id, rc); opened) other_port = std::move(*opened);
  else return fail("--rx-port: " + opened.error().message);
      rx_port = other_port.get();
    }
  }

  std::vector<std::unique_ptr<gen::QueueSender>> senders;
  for (uint16_t q = 0; q < o.queues; ++q) {
    std::unique_ptr<gen::QueueSender> s;
    if (gen::QueueSender::create(*port, q, o, o.pcap.empty() ? nullptr : &trace, s, error) != Status::success) return fail(error);
    senders.push_back(std::move(s));
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::string what = o.pcap.empty() ? "" : " of " + o.pcap + " (" + std::to_string(trace.frames.size()) + " frames)";
  if (o.pcap.empty()) {
    for (const auto& st : o.streams)
      what += (what.empty() ? " " : ", ") + gen::to_text(st.ip) + "/" + gen::to_text(st.transport) + " frames of " +
              gen::to_text(st.size) + " bytes";
  }
  std::string how = rate_pps > 0 ? ", " + std::to_string(rate_pps / 1e6).substr(0, 7) + " Mpps " + gen::to_text(o.pacing.mode)
                                 : (!o.pcap.empty() && o.replay_speed > 0 ? ", at " + std::to_string(o.replay_speed).substr(0, 5) + "x the recorded timing" : ", as fast as possible");
  std::printf("sending%s%s%s on %u queue(s), batch %u%s%s; Ctrl-C stops\n",
              o.count ? (" " + std::to_string(o.count) + " packets").c_str() : "",
              o.duration_s > 0 ? (std::string(o.count ? " for at most " : " for ") + std::to_string(o.duration_s).substr(0, 5) + " s").c_str() : "",
              what.c_str(), o.queues, o.batch, how.c_str(), rx_port ? (", receiving on " + rx_port->name()).c_str() : "");

  // Threads go on the EAL lcores in order (apps/common/threads.h); more threads than lcores
  // share cores, which a rate must not be read without knowing.
  const unsigned threads_wanted = o.queues + (rx_port != nullptr ? 1u : 0u);
  if (threads_wanted > apps::eal_lcore_count())
    std::fprintf(stderr, "pkio-gen: note: %u sending/receiving thread(s) on %u EAL lcore(s): some share a core (give -l more cores)\n",
                 threads_wanted, apps::eal_lcore_count());

  size_t flows = o.queues * o.streams.size();
  std::atomic<bool> senders_done{false};
  std::unique_ptr<gen::Receiver> receiver;
  std::thread receiver_thread;
  if (rx_port != nullptr) {
    receiver = std::make_unique<gen::Receiver>(rx_port->id(), static_cast<uint32_t>(flows));
    receiver_thread = std::thread([&] {
      apps::run_on_lcore(o.queues);  // beside the senders, if EAL was given a core for it
      if (rte_lcore_id() == LCORE_ID_ANY) (void)rte_thread_register();
      receiver->run(senders_done, 200, 5000);
    });
  }

  const auto start = std::chrono::steady_clock::now();
  std::atomic<unsigned> running{o.queues};
  std::vector<std::thread> threads;
  for (uint16_t q = 0; q < o.queues; ++q) {
    const uint64_t count = o.count ? o.count / o.queues + (q < o.count % o.queues ? 1 : 0) : 0;
    threads.emplace_back([&, q, count] {
      apps::run_on_lcore(q);  // queue q on the q-th EAL lcore, the main one first
      if (rte_lcore_id() == LCORE_ID_ANY) (void)rte_thread_register();  // mempool cache
      senders[q]->run(stop_requested, count, o.duration_s, rate_pps / o.queues, 5.0);
      --running;
    });
  }

  // Progress once a second from this thread; the senders never wait for it.
  uint64_t last_sent = 0, last_bytes = 0;
  auto last = start;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto now = std::chrono::steady_clock::now();
    const double interval = std::chrono::duration<double>(now - last).count();
    if (interval < 1.0 || o.quiet) continue;
    uint64_t sent = 0, bytes = 0;
    AdapterCounters c{};
    for (auto& s : senders) {
      sent += s->totals().sent.load();
      bytes += s->totals().bytes.load();
      const auto qc = s->adapter().counters();
      c.completed_ok += qc.completed_ok;
      c.in_flight += qc.in_flight;
      c.batches += qc.batches;
      c.batch_packets += qc.batch_packets;
      for (unsigned i = 0; i < status_count; ++i) c.completed_by_status[i] += qc.completed_by_status[i];
    }
    std::printf("%s\n", gen::progress_line(std::chrono::duration<double>(now - start).count(), sent - last_sent,
                                           bytes - last_bytes, interval, c,
                                           receiver ? static_cast<int64_t>(receiver->frames()) : -1).c_str());
    std::fflush(stdout);
    last_sent = sent;
    last_bytes = bytes;
    last = now;
  }
  for (auto& t : threads) t.join();
  const double duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  senders_done.store(true);
  if (receiver_thread.joinable()) receiver_thread.join();

  gen::Summary s;
  LatencyHistogram latency;
  for (auto& q : senders) {
    const auto qc = q->adapter().counters();
    s.counters.submitted += qc.submitted;
    s.counters.rejected_sync += qc.rejected_sync;
    s.counters.completed_ok += qc.completed_ok;
    s.counters.completed_error += qc.completed_error;
    s.counters.in_flight += qc.in_flight;
    s.counters.batches += qc.batches;
    s.counters.batch_packets += qc.batch_packets;
    s.counters.resources_events += qc.resources_events;
    s.counters.requeued += qc.requeued;
    for (unsigned i = 0; i < status_count; ++i) s.counters.completed_by_status[i] += qc.completed_by_status[i];
    s.frame_bytes += q->totals().bytes.load();
    s.drained = s.drained && q->drained();
    latency.merge(q->adapter().latency_cycles());
  }
  s.duration_s = duration;
  // Sent means completed: a packet counts when it came back, not when it was queued.
  s.mpps = static_cast<double>(s.counters.completed_ok) / duration / 1e6;
  const double mean_size = s.counters.submitted ? static_cast<double>(s.frame_bytes) / static_cast<double>(s.counters.submitted) : 0;
  s.gbps = s.mpps * 1e6 * mean_size * 8 / 1e9;
  s.line_gbps = s.mpps * 1e6 * (mean_size + 24) * 8 / 1e9;
  s.target_pps = rate_pps;
  s.mean_batch = s.counters.batches ? static_cast<double>(s.counters.batch_packets) / static_cast<double>(s.counters.batches) : 0;
  s.latency_p50_ns = cycles_to_ns(static_cast<double>(latency.percentile(0.50)));
  s.latency_p99_ns = cycles_to_ns(static_cast<double>(latency.percentile(0.99)));
  s.latency_p999_ns = cycles_to_ns(static_cast<double>(latency.percentile(0.999)));
  s.link_speed_mbps = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
  s.interrupted = stop_signal.load() != 0;
  s.stream_sent.assign(o.streams.size(), 0);
  for (auto& q : senders)
    for (size_t i = 0; i < o.streams.size() && o.pcap.empty(); ++i) s.stream_sent[i] += q->stream_sent(i);
  if (receiver) {
    auto& r = s.receive;
    const auto& t = receiver->totals();
    r.enabled = true;
    r.frames = t.frames;
    r.ours = t.ours;
    r.other = t.other;
    r.bad_checksum = t.bad_checksum;
    for (auto& q : senders) {
      for (size_t i = 0; i < o.streams.size() && o.pcap.empty(); ++i) {
        const auto& spec = o.streams[i];
        if (spec.size.min < gen::layout_of(spec.ip, spec.transport).stamped()) continue;  // no stamps to follow
        const auto& flow = receiver->flow(q->flow_of(i));
        r.sent += q->stream_sent(i);
        r.unique += flow.unique();
        r.duplicates += flow.duplicates;
        r.reordered += flow.reordered;
        r.lost += q->stream_sent(i) > flow.unique() ? q->stream_sent(i) - flow.unique() : 0;
      }
    }
    r.latency_p50_ns = cycles_to_ns(static_cast<double>(t.latency.percentile(0.50)));
    r.latency_p99_ns = cycles_to_ns(static_cast<double>(t.latency.percentile(0.99)));
    r.latency_p999_ns = cycles_to_ns(static_cast<double>(t.latency.percentile(0.999)));
    r.latency_max_ns = cycles_to_ns(static_cast<double>(t.latency.percentile(1.0)));
  }
  std::printf("%s", gen::summary_text(s, o).c_str());
  if (!o.json.empty()) {
    std::ofstream out(o.json);
    out << gen::summary_json(s, o);
    if (!out) return fail("cannot write " + o.json, 1);
  }
  senders.clear();
  receiver.reset();
  other_port.reset();
  port.reset();
  dpdk::eal_cleanup();
  return s.drained ? 0 : 1;
}
