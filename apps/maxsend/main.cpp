// pkio-maxsend: which OID_GEN_MAXIMUM_SEND_PACKETS should this port use, and is my choice a
// good one? Sweeps the value (and the miniport mode), measures throughput, cycles per packet,
// partial acceptance, the batch sizes that really reached the miniport, and completion
// latency at saturation and at a fixed offered load; recommends the smallest value within a
// share of the best throughput and a latency budget, and says why in numbers.
// Usage: pkio-maxsend [EAL args] -- [options]. Exit: 0 done (also when --validate says "not
// good"), 2 bad input or an EAL/port problem.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <pkio/dpdk/eal.h>
#include <pkio/metrics.h>
#include "threads.h"
#include "svg.h"
#include "sweep.h"
#include "text.h"
#include <pkio/version.h>

namespace {

using namespace pkio;

int fail(const std::string& message) {
  std::fprintf(stderr, "pkio-maxsend: %s\n", message.c_str());
  return 2;
}

/// The sweep's values: 1..1024, sorted, each once.
bool parse_values(const std::string& text, std::vector<uint32_t>& out) {
  if (!apps::parse_number_list(text, out, 1, 1024)) return false;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return true;
}

/// A net_ring port drained by a consumer thread on another core: back-pressure on demand.
struct RingSink {
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;
  int port = -1;
  std::atomic<bool> stop{false};
  std::thread consumer;
  /// `drain_mpps`: the consumer takes frames at this rate (0: as fast as it can), so that a
  /// sender faster than it meets a full ring.
  bool open(unsigned size, double drain_mpps, std::string& error) {
    rx = rte_ring_create("pkio_maxsend_rx", size, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    tx = rte_ring_create("pkio_maxsend_tx", size, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (rx == nullptr || tx == nullptr) {
      error = "cannot create rings of " + std::to_string(size) + " slots (a power of two)";
      return false;
    }
    port = rte_eth_from_rings("pkio_maxsend_ring", &rx, 1, &tx, 1, rte_socket_id());
    if (port < 0) {
      error = "cannot create the net_ring port";
      return false;
    }
    consumer = std::thread([this, drain_mpps] {
      apps::run_on_lcore(1);  // beside the sender, on the next EAL lcore
      if (rte_lcore_id() == LCORE_ID_ANY) (void)rte_thread_register();
      void* mbufs[64];
      const double per_cycle = drain_mpps * 1e6 / static_cast<double>(rte_get_tsc_hz());
      const uint64_t start = rte_rdtsc();
      uint64_t taken = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        unsigned want = 64;
        if (drain_mpps > 0) {
          const auto due = static_cast<uint64_t>(static_cast<double>(rte_rdtsc() - start) * per_cycle);
          want = due > taken ? static_cast<unsigned>(std::min<uint64_t>(64, due - taken)) : 0;
          if (want == 0) continue;
        }
        const unsigned n = rte_ring_dequeue_burst(tx, mbufs, want, nullptr);
        if (n == 0 && drain_mpps > 0) taken = static_cast<uint64_t>(static_cast<double>(rte_rdtsc() - start) * per_cycle);
        taken += n;
        for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(static_cast<rte_mbuf*>(mbufs[i]));
      }
    });
    return true;
  }
  ~RingSink() {
    stop = true;
    if (consumer.joinable()) consumer.join();
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> eal_args, app_args;
  dpdk::split_args(argc, argv, eal_args, app_args);

  maxsend::SweepOptions o;
  std::string port_name = "0", values_text = "1,2,4,8,16,32,64,128,256", modes_text = "serialized,deserialized";
  std::string json_path, csv_path, svg_path;
  unsigned validate_value = 0, ring_size = 0;
  double drain_mpps = 1.0;
  bool copy = false;
  double share_percent = 95, load_percent = 50;
  CLI::App app{"pkio-maxsend: which OID_GEN_MAXIMUM_SEND_PACKETS should this port use?\n"
               "Usage: pkio-maxsend [EAL args] -- [options]; no EAL args: net_null, no hugepages.",
               "pkio-maxsend"};
  app.set_version_flag("--version", PKIO_VERSION);
  app.add_option("--port", port_name, "port number or device name")->capture_default_str();
  app.add_option("--values", values_text, "values to sweep, comma-separated (1-1024)")->capture_default_str();
  app.add_option("--modes", modes_text, "serialized, deserialized (comma-separated)")->capture_default_str();
  app.add_option("--reps", o.reps, "repetitions per value")->check(CLI::Range(1, 50))->capture_default_str();
  app.add_option("--seconds", o.seconds, "seconds per repetition and measurement")->check(CLI::Range(0.05, 60.0))->capture_default_str();
  app.add_option("--size", o.frame_size, "frame size in bytes")->check(CLI::Range(60, 9018))->capture_default_str();
  app.add_option("--share", share_percent, "percent of the best throughput a value must reach")->check(CLI::Range(1.0, 100.0))->capture_default_str();
  app.add_option("--latency-budget", o.latency_budget_us, "p99 completion latency budget at the fixed load, us")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--load", load_percent, "fixed offered load, percent of the best throughput")->check(CLI::Range(1.0, 100.0))->capture_default_str();
  app.add_option("--validate", validate_value, "judge this value against the sweep (added to it if missing)");
  app.add_option("--ring", ring_size, "send into a net_ring of N slots (power of two) drained by a consumer thread, instead of --port");
  app.add_option("--drain-mpps", drain_mpps, "with --ring: the consumer's rate in Mpps (0: as fast as it can)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_flag("--copy", copy, "copy frames and complete on acceptance (on a ring, completions then stay on the sending thread)");
  app.add_option("--json", json_path, "write results per value and the recommendation as JSON");
  app.add_option("--csv", csv_path, "write results per value as CSV");
  app.add_option("--svg", svg_path, "write a plot of throughput and p99 latency against the value");
  std::string metrics_address, progress = "text";
  app.add_option("--metrics", metrics_address, "serve Prometheus/OpenMetrics text at http://ADDR:PORT/metrics while running (ADDR: IPv4, localhost or *)");
  app.add_option("--progress", progress, "text, or json: one JSON object per measurement on stdout (everything else on stderr)")->capture_default_str();
  std::vector<std::string> reversed(app_args.rbegin(), app_args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      std::printf("%s", e.what() == std::string("--version") ? PKIO_VERSION : app.help().c_str());
      return 0;
    }
    return fail(std::string(e.what()) + " (see --help)");
  }
  if (!parse_values(values_text, o.values)) return fail("--values: '" + values_text + "' is not a list of values from 1 to 1024");
  if (validate_value > 1024) return fail("--validate: " + std::to_string(validate_value) + " is above 1024");
  if (validate_value != 0 && std::find(o.values.begin(), o.values.end(), validate_value) == o.values.end()) {
    o.values.push_back(validate_value);
    std::sort(o.values.begin(), o.values.end());
  }
  o.modes.clear();
  {
    std::stringstream in(modes_text);
    std::string item;
    while (std::getline(in, item, ','))
      if (item == "serialized" || item == "deserialized") o.modes.push_back(item);
      else return fail("--modes: unknown mode '" + item + "' (serialized, deserialized)");
  }
  if (ring_size != 0 && (ring_size & (ring_size - 1)) != 0) return fail("--ring: " + std::to_string(ring_size) + " is not a power of two");
  o.share = share_percent / 100;
  o.load_fraction = load_percent / 100;

  if (progress != "text" && progress != "json") return fail("--progress: '" + progress + "' is not text or json");
  if (!metrics_address.empty())
    if (auto where = metrics::parse_listen_address(metrics_address); !where) return fail("--metrics: " + where.error().message);
  const bool progress_json = progress == "json";
  FILE* const human = progress_json ? stderr : stdout;  // text for people, when stdout carries JSON lines

  std::string error;
  if (auto up = dpdk::eal_init(eal_args); !up) return fail(up.error().message);
  RingSink sink;
  uint16_t port_id = 0;
  if (ring_size != 0) {
    if (!sink.open(ring_size, drain_mpps, error)) return fail(error);
    port_id = static_cast<uint16_t>(sink.port);
  } else if (auto found = dpdk::Port::find(port_name); found) {
    port_id = *found;
  } else {
    return fail(found.error().message);
  }
  dpdk::PortConfig pc;
  pc.mbufs = 32767;
  std::unique_ptr<dpdk::Port> port;
  if (auto opened = dpdk::Port::open(port_id, pc); opened) port = std::move(*opened);
  else return fail(opened.error().message);
  const size_t total_runs = o.values.size() * o.modes.size();
  std::unique_ptr<metrics::Endpoint> endpoint;
  if (!metrics_address.empty()) {
    auto started = metrics::Endpoint::start(metrics_address);
    if (!started) return fail("--metrics: " + started.error().message);
    endpoint = std::move(*started);
    std::fprintf(stderr, "pkio-maxsend: metrics at %s\n", endpoint->url().c_str());
  }
  std::fprintf(human, "pkio-maxsend %s: %s\nsweeping %zu value(s) x %zu mode(s), %u rep(s) of %.2f s, %u-byte frames\n",
              PKIO_VERSION, port->placement().c_str(), o.values.size(), o.modes.size(), o.reps, o.seconds, o.frame_size);

  // Pass 1: saturation. Pass 2: the fixed load, which needs the best throughput of pass 1.
  std::vector<maxsend::ValueResult> results;
  size_t done = 0;
  for (const std::string& mode : o.modes) {
    for (uint32_t value : o.values) {
      maxsend::ValueResult v;
      v.mode = mode;
      v.value = value;
      v.batch_sizes.assign(value + 1, 0);
      std::vector<double> mpps, cycles, p50, p99, p999;
      uint64_t calls = 0, resources = 0, packets_in_calls = 0;
      for (unsigned rep = 0; rep < o.reps; ++rep) {
        apps::RunSpec spec;
        spec.frame_size = o.frame_size;
        spec.burst = value;
        spec.seconds = o.seconds;
        spec.deserialized = mode == "deserialized";
        spec.copy = copy;
        spec.metrics = endpoint.get();
        spec.metrics_name = mode + "/" + std::to_string(value);
        apps::RunResult r;
        if (apps::run_send_path(*port, spec, r, error) != Status::success) return fail(error);
        mpps.push_back(r.mpps);
        cycles.push_back(r.cycles_per_packet);
        p50.push_back(r.latency_p50_ns / 1e3);
        p99.push_back(r.latency_p99_ns / 1e3);
        p999.push_back(r.latency_p999_ns / 1e3);
        calls += r.miniport_calls;
        resources += r.resources_events;
        for (size_t k = 0; k < r.batch_sizes.size() && k <= value; ++k) {
          v.batch_sizes[k] += r.batch_sizes[k];
          packets_in_calls += k * r.batch_sizes[k];
        }
      }
      v.mpps = apps::stats_of(mpps);
      v.cycles_per_packet = apps::stats_of(cycles).median;
      v.sat_p50_us = apps::stats_of(p50).median;
      v.sat_p99_us = apps::stats_of(p99).median;
      v.sat_p999_us = apps::stats_of(p999).median;
      v.resources_rate = calls ? static_cast<double>(resources) / static_cast<double>(calls) : 0;
      v.mean_batch = calls ? static_cast<double>(packets_in_calls) / static_cast<double>(calls) : 0;
      results.push_back(v);
      ++done;
      if (progress_json)
        std::printf("%s\n", nlohmann::json({{"pass", "saturation"}, {"done", done}, {"of", total_runs}, {"mode", mode},
                                            {"value", value}, {"mpps", v.mpps.median}, {"mpps_min", v.mpps.min},
                                            {"mpps_max", v.mpps.max}, {"cycles_per_packet", v.cycles_per_packet},
                                            {"mean_batch", v.mean_batch}, {"resources_per_call", v.resources_rate}})
                                 .dump().c_str());
      else
        std::printf("[%2zu/%zu] %-12s %4u: %7.2f Mpps  %6.1f cycles/packet  mean batch %5.1f  resources/call %.3f\n",
                    done, total_runs, mode.c_str(), value, v.mpps.median, v.cycles_per_packet, v.mean_batch, v.resources_rate);
      std::fflush(stdout);
    }
  }
  done = 0;
  for (const std::string& mode : o.modes) {
    double best = 0;
    for (const auto& v : results)
      if (v.mode == mode) best = std::max(best, v.mpps.median);
    for (auto& v : results) {
      if (v.mode != mode) continue;
      std::vector<double> p50, p99, p999;
      for (unsigned rep = 0; rep < o.reps; ++rep) {
        apps::RunSpec spec;
        spec.frame_size = o.frame_size;
        spec.burst = v.value;
        spec.seconds = o.seconds;
        spec.deserialized = mode == "deserialized";
        spec.copy = copy;
        spec.offered_pps = o.load_fraction * best * 1e6;
        spec.metrics = endpoint.get();
        spec.metrics_name = mode + "/" + std::to_string(v.value) + "/load";
        apps::RunResult r;
        if (apps::run_send_path(*port, spec, r, error) != Status::success) return fail(error);
        p50.push_back(r.latency_p50_ns / 1e3);
        p99.push_back(r.latency_p99_ns / 1e3);
        p999.push_back(r.latency_p999_ns / 1e3);
      }
      v.load_mpps = o.load_fraction * best;
      v.load_p50_us = apps::stats_of(p50).median;
      v.load_p99_us = apps::stats_of(p99).median;
      v.load_p999_us = apps::stats_of(p999).median;
      ++done;
      if (progress_json)
        std::printf("%s\n", nlohmann::json({{"pass", "load"}, {"done", done}, {"of", total_runs}, {"mode", mode},
                                            {"value", v.value}, {"offered_mpps", v.load_mpps}, {"p50_us", v.load_p50_us},
                                            {"p99_us", v.load_p99_us}, {"p999_us", v.load_p999_us}})
                                 .dump().c_str());
      else
        std::printf("[%2zu/%zu] %-12s %4u at %.2f Mpps offered: p50 %.1f us, p99 %.1f us\n", done, total_runs,
                    mode.c_str(), v.value, v.load_mpps, v.load_p50_us, v.load_p99_us);
      std::fflush(stdout);
    }
  }

  std::vector<maxsend::Recommendation> recommended;
  for (const std::string& mode : o.modes) recommended.push_back(maxsend::recommend(results, mode, o));

  std::fprintf(human, "\n%-12s %5s %9s %17s %8s %7s %9s %9s %9s %9s  %s\n", "mode", "value", "Mpps", "[min - max]", "cyc/pkt",
              "batch", "res/call", "sat p99", "load p50", "load p99", "verdict");
  for (const auto& v : results)
    std::fprintf(human, "%-12s %5u %9.2f  [%6.2f - %6.2f] %8.1f %7.1f %9.3f %7.1fus %7.1fus %7.1fus  %s%s\n", v.mode.c_str(),
                v.value, v.mpps.median, v.mpps.min, v.mpps.max, v.cycles_per_packet, v.mean_batch, v.resources_rate,
                v.sat_p99_us, v.load_p50_us, v.load_p99_us, v.reaches_share ? "share ok" : "too slow",
                v.within_budget ? "" : ", over budget");
  std::fprintf(human, "\n");
  for (const auto& r : recommended) std::fprintf(human, "%s\n\n", r.explanation.c_str());
  if (validate_value != 0)
    for (const auto& r : recommended) std::fprintf(human, "validate %s\n", maxsend::validate(results, r, validate_value, o).c_str());

  if (!json_path.empty()) {
    nlohmann::json j;
    j["config"] = {{"values", o.values}, {"modes", o.modes}, {"reps", o.reps}, {"seconds", o.seconds},
                   {"frame_size", o.frame_size}, {"share", o.share}, {"latency_budget_us", o.latency_budget_us},
                   {"load_fraction", o.load_fraction}, {"port", port->name()}};
    j["results"] = nlohmann::json::array();
    for (const auto& v : results) {
      nlohmann::json sizes = nlohmann::json::object();
      for (size_t k = 1; k < v.batch_sizes.size(); ++k)
        if (v.batch_sizes[k]) sizes[std::to_string(k)] = v.batch_sizes[k];
      j["results"].push_back({{"mode", v.mode}, {"value", v.value}, {"mpps", v.mpps.median}, {"mpps_min", v.mpps.min},
                              {"mpps_max", v.mpps.max}, {"cycles_per_packet", v.cycles_per_packet},
                              {"resources_per_call", v.resources_rate}, {"mean_batch", v.mean_batch},
                              {"batch_sizes", sizes},
                              {"saturation_latency_us", {{"p50", v.sat_p50_us}, {"p99", v.sat_p99_us}, {"p999", v.sat_p999_us}}},
                              {"load_mpps", v.load_mpps},
                              {"load_latency_us", {{"p50", v.load_p50_us}, {"p99", v.load_p99_us}, {"p999", v.load_p999_us}}},
                              {"reaches_share", v.reaches_share}, {"within_budget", v.within_budget}});
    }
    j["recommended"] = nlohmann::json::object();
    for (const auto& r : recommended)
      j["recommended"][r.mode] = {{"value", r.found ? nlohmann::json(r.value) : nlohmann::json(nullptr)},
                                  {"best_mpps", r.best_mpps}, {"best_value", r.best_value}, {"explanation", r.explanation}};
    if (validate_value != 0) {
      j["validate"] = {{"value", validate_value}};
      for (const auto& r : recommended) j["validate"][r.mode] = maxsend::validate(results, r, validate_value, o);
    }
    std::ofstream(json_path) << j.dump(2) << "\n";
  }
  if (!csv_path.empty()) {
    std::ofstream csv(csv_path);
    csv << "mode,value,mpps,mpps_min,mpps_max,cycles_per_packet,mean_batch,resources_per_call,"
           "sat_p50_us,sat_p99_us,sat_p999_us,load_mpps,load_p50_us,load_p99_us,load_p999_us,reaches_share,within_budget\n";
    for (const auto& v : results)
      csv << v.mode << ',' << v.value << ',' << v.mpps.median << ',' << v.mpps.min << ',' << v.mpps.max << ','
          << v.cycles_per_packet << ',' << v.mean_batch << ',' << v.resources_rate << ',' << v.sat_p50_us << ','
          << v.sat_p99_us << ',' << v.sat_p999_us << ',' << v.load_mpps << ',' << v.load_p50_us << ','
          << v.load_p99_us << ',' << v.load_p999_us << ',' << v.reaches_share << ',' << v.within_budget << '\n';
  }
  if (!svg_path.empty())
    std::ofstream(svg_path) << maxsend::plot_svg(results, recommended, o,
                                                 "pkio-maxsend on " + port->name() + ", " + std::to_string(o.frame_size) + "-byte frames");
  port.reset();
  return 0;
}
