// pkio-maxsend: which OID_GEN_MAXIMUM_SEND_PACKETS should this port use, and is my choice a
// good one? Sweeps the value (and the miniport mode), measures throughput, cycles per packet,
// partial acceptance, the batch sizes that really reached the miniport, and completion
// latency at saturation and at a fixed offered load; recommends the smallest value within a
// share of the best throughput and a latency budget, and says why in numbers.
// Usage: pkio-maxsend [EAL args] -- [options]. Exit: 0 done (also when --validate says "not
// good"), 2 bad input or an EAL/port problem.
#include <nlohmann/json.hpp>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <cerrno>
#include <cstring>
#include <tuple>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <pkio/cycles.h>
#include <pkio/dpdk/eal.h>
#include <pkio/metrics.h>
#include "address_layout.h"
#include "command_line.h"
#include "files.h"
#include "signals.h"
#include "threads.h"
#include "validate.h"
#include "svg.h"
#include "sweep.h"
#include "text.h"
#include <pkio/version.h>

namespace {

using namespace pkio;

constexpr const char* program = "pkio-maxsend";

int fail(const std::string& message, int code = apps::exit_status::bad_input) {
  return apps::fail(program, message, code);
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
      const double per_cycle = drain_mpps * 1e6 / static_cast<double>(cycles_per_second());
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
  const apps::AddressLayout layout = apps::fix_address_layout(argc, argv);  // may re-execute: first
  std::vector<std::string> eal_args, app_args;
  dpdk::split_args(argc, argv, eal_args, app_args);

  apps::install_stop_signals();  // first: a signal at any moment ends with what was measured
  maxsend::SweepOptions o;
  apps::CommandLine cl(program, std::string("pkio-maxsend: which OID_GEN_MAXIMUM_SEND_PACKETS should this port use?\n"
                                            "Usage: pkio-maxsend [EAL args] -- [options]; no EAL args: net_null, no hugepages.\n") +
                                    apps::exit_status_help);
  cl.option("--port", "port number or device name", "0");
  cl.option("--values", "values to sweep, comma-separated (1-1024; at least two different ones, with --validate's)", "1,2,4,8,16,32,64,128,256");
  cl.option("--modes", "serialized, deserialized (comma-separated)", "serialized,deserialized");
  cl.option("--reps", "rounds, each measuring every value once in a shuffled order (2-100); the fixed-load pass measures each value a sixth as often (at least 2)", "30");
  cl.option("--seconds", "seconds per measurement (0.02-60)", "0.05");
  cl.option("--size", "frame size in bytes without FCS (60-9014; at most the port's MTU + 14)", "64");
  cl.option("--share", "percent of the best throughput a value must reach (1-100)", "95");
  cl.option("--latency-budget", "p99 completion latency budget at the fixed load, us (above 0, at most 10^6)", "50");
  cl.option("--load", "fixed offered load, percent of the best throughput (1-100)", "50");
  cl.option("--run-drift", "percent that a / c (per-call over per-packet cost) moves between runs, 1 sd (0-100): the "
            "resamples carry it, so the confidence printed and \"too slow\" hold for the next run too; 0: this run's rounds alone", "8");
  cl.option("--validate", "judge this value against the sweep (1-1024; added to it if missing)");
  cl.option("--ring", "send into a net_ring of N slots (a power of two, 64-65536) drained by a consumer thread, instead of --port");
  cl.option("--drain-mpps", "with --ring: the consumer's rate in Mpps (0-10000; 0: as fast as it can)", "1");
  cl.flag("--aslr", apps::aslr_help);
  cl.flag("--copy", "copy frames and complete on acceptance (on a ring, completions then stay on the sending thread)");
  cl.option("--json", "write results per value and the recommendation as JSON (opened before measuring)");
  cl.option("--csv", "write results per value as CSV (opened before measuring)");
  cl.option("--svg", "write a plot of throughput and p99 latency against the value (opened before measuring)");
  cl.option("--metrics", "serve Prometheus/OpenMetrics text at http://ADDR:PORT/metrics while running (ADDR: IPv4, localhost or *)");
  cl.option("--progress", "text, or json: one JSON object per measurement on stdout (everything else on stderr)", "text");
  if (auto code = cl.parse_or_exit(app_args)) return *code;
  const auto bad = [](const Error& e) { return fail(e.message + " (see --help)"); };
  const auto whole = [&](const char* name, uint64_t fallback, uint64_t lo, uint64_t hi, uint64_t& out) {
    auto v = apps::parse_whole(name, cl.text_or(name, std::to_string(fallback)), lo, hi);
    if (v) out = *v;
    else bad(v.error());
    return v.has_value();
  };
  const auto real = [&](const char* name, const char* fallback, double lo, double hi, double& out) {
    auto v = apps::parse_real(name, cl.text_or(name, fallback), lo, hi);
    if (v) out = *v;
    else bad(v.error());
    return v.has_value();
  };
  const std::string port_name = cl.text_or("--port", "0");
  if (port_name.empty()) return fail("--port: an empty value (see --help)");
  auto values = apps::parse_whole_list("--values", cl.text_or("--values", "1,2,4,8,16,32,64,128,256"), 1, 1024);
  if (!values) return bad(values.error());
  o.values.assign(values->begin(), values->end());
  std::sort(o.values.begin(), o.values.end());
  o.values.erase(std::unique(o.values.begin(), o.values.end()), o.values.end());
  auto modes = apps::parse_word_list("--modes", cl.text_or("--modes", "serialized,deserialized"), {"serialized", "deserialized"});
  if (!modes) return bad(modes.error());
  o.modes = *modes;
  uint64_t reps = 30, size = 64, validate_value = 0, ring_size = 0;
  double share_percent = 95, load_percent = 50, drain_mpps = 1.0, drift_percent = 8;
  if (!whole("--reps", 30, 2, 100, reps) || !whole("--size", 64, 60, 9014, size) ||
      !real("--seconds", "0.05", 0.02, 60, o.seconds) || !real("--share", "95", 1, 100, share_percent) ||
      !real("--load", "50", 1, 100, load_percent) || !real("--drain-mpps", "1", 0, 10000, drain_mpps) ||
      !real("--run-drift", "8", 0, 100, drift_percent))
    return apps::exit_status::bad_input;
  {
    auto v = apps::parse_positive_real("--latency-budget", cl.text_or("--latency-budget", "50"), 1e6);
    if (!v) return bad(v.error());
    o.latency_budget_us = *v;
  }
  if (cl.given("--validate") && !whole("--validate", 0, 1, 1024, validate_value)) return apps::exit_status::bad_input;
  if (cl.given("--ring")) {
    if (!whole("--ring", 0, 64, 65536, ring_size)) return apps::exit_status::bad_input;
    if ((ring_size & (ring_size - 1)) != 0)
      return fail("--ring: " + std::to_string(ring_size) + " is not a power of two (64-65536) (see --help)");
  }
  const bool copy = cl.given("--copy");
  o.reps = static_cast<unsigned>(reps);
  o.frame_size = static_cast<uint32_t>(size);
  if (validate_value != 0 && std::find(o.values.begin(), o.values.end(), validate_value) == o.values.end()) {
    o.values.push_back(static_cast<uint32_t>(validate_value));
    std::sort(o.values.begin(), o.values.end());
  }
  // cycles per packet = c + a / B has two unknowns: one value cannot tell them apart.
  if (o.values.size() < 2)
    return fail("--values: " + std::to_string(o.values.front()) +
                " alone: the fit of cycles per packet = c + a / B needs at least two different values (see --help)");
  o.share = share_percent / 100;
  o.load_fraction = load_percent / 100;
  o.run_drift = drift_percent / 100;
  o.cycles_per_second = static_cast<double>(cycles_per_second());
  const std::string json_path = cl.text("--json"), csv_path = cl.text("--csv"), svg_path = cl.text("--svg");
  const std::string metrics_address = cl.text("--metrics"), progress = cl.text_or("--progress", "text");
  if (progress != "text" && progress != "json")
    return fail("--progress: '" + apps::printable(progress) + "' is not text or json (see --help)");
  if (cl.given("--metrics"))
    if (auto where = metrics::parse_listen_address(metrics_address); !where) return fail("--metrics: " + where.error().message);
  const bool progress_json = progress == "json";
  FILE* const human = progress_json ? stderr : stdout;  // text for people, when stdout carries JSON lines
  // Outputs are opened before anything is measured, and must be distinct files.
  std::unique_ptr<apps::OutputFile> json_file, csv_file, svg_file;
  std::vector<const apps::OutputFile*> outputs;
  for (auto [name, path, file] : {std::tuple{"--json", &json_path, &json_file}, std::tuple{"--csv", &csv_path, &csv_file},
                                  std::tuple{"--svg", &svg_path, &svg_file}}) {
    if (!cl.given(name)) continue;
    if (path->empty()) return fail(std::string(name) + ": an empty value (see --help)");
    auto f = apps::OutputFile::open(name, *path);
    if (!f) return fail(f.error().message);
    *file = std::move(*f);
    outputs.push_back(file->get());
  }
  if (auto distinct = apps::distinct_outputs(outputs); !distinct) return fail(distinct.error().message);

  std::string error;
  if (auto up = dpdk::eal_init(eal_args); !up) return fail(up.error().message);
  RingSink sink;
  uint16_t port_id = 0;
  if (ring_size != 0) {
    if (!sink.open(static_cast<unsigned>(ring_size), drain_mpps, error)) return fail(error);
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
  std::fprintf(human, "pkio-maxsend %s: %s\nsweeping %zu value(s) x %zu mode(s), %u rep(s) of %.2f s, %u-byte frames, %s addresses\n",
              PKIO_VERSION, port->placement().c_str(), o.values.size(), o.modes.size(), o.reps, o.seconds, o.frame_size,
              apps::address_layout_name(layout));

  // Pass 1: saturation. Each repetition measures every (mode, value) once, in a shuffled
  // order, so that a slow stretch of a shared machine hits every value alike instead of the
  // few measured while it lasted. Pass 2: the fixed load, which needs pass 1's best.
  std::vector<maxsend::ValueResult> results;
  for (const std::string& mode : o.modes)
    for (uint32_t value : o.values) {
      maxsend::ValueResult v;
      v.mode = mode;
      v.value = value;
      v.batch_sizes.assign(value + 1, 0);
      results.push_back(v);
    }
  struct Accumulated {
    std::vector<double> p50, p99, p999;
    uint64_t calls = 0, resources = 0, packets_in_calls = 0;
  };
  std::vector<Accumulated> acc(results.size());
  std::vector<size_t> order(results.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937 shuffle_rng(20261202);  // a fixed seed: the same orders every run
  size_t done = 0;
  const size_t total_measurements = results.size() * o.reps;
  bool stopped = false;  // a signal: what was measured so far is reported
  for (unsigned rep = 0; rep < o.reps && !stopped; ++rep) {
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    for (size_t index : order) {
      if (apps::stop_requested()) {
        stopped = true;
        break;
      }
      maxsend::ValueResult& v = results[index];
      Accumulated& a = acc[index];
      apps::RunSpec spec;
      spec.frame_size = o.frame_size;
      spec.burst = v.value;
      spec.seconds = o.seconds;
      spec.deserialized = v.mode == "deserialized";
      spec.copy = copy;
      spec.metrics = endpoint.get();
      spec.metrics_name = v.mode + "/" + std::to_string(v.value);
      apps::RunResult r;
      if (apps::run_send_path(*port, spec, r, error) != Status::success) return fail(error);
      v.mpps_reps.push_back(r.mpps);
      v.cycles_reps.push_back(r.cycles_per_packet);
      a.p50.push_back(r.latency_p50_ns / 1e3);
      a.p99.push_back(r.latency_p99_ns / 1e3);
      a.p999.push_back(r.latency_p999_ns / 1e3);
      a.calls += r.miniport_calls;
      a.resources += r.resources_events;
      for (size_t k = 0; k < r.batch_sizes.size() && k <= v.value; ++k) {
        v.batch_sizes[k] += r.batch_sizes[k];
        a.packets_in_calls += k * r.batch_sizes[k];
      }
      ++done;
      if (progress_json)
        std::printf("%s\n", nlohmann::json({{"pass", "saturation"}, {"done", done}, {"of", total_measurements},
                                            {"rep", rep + 1}, {"mode", v.mode}, {"value", v.value}, {"mpps", r.mpps},
                                            {"cycles_per_packet", r.cycles_per_packet}})
                                 .dump().c_str());
      else
        std::printf("[%3zu/%zu] rep %u %-12s %4u: %7.2f Mpps  %6.1f cycles/packet\n", done, total_measurements, rep + 1,
                    v.mode.c_str(), v.value, r.mpps, r.cycles_per_packet);
      std::fflush(stdout);
    }
  }
  // Only values with every repetition measured are judged.
  {
    std::vector<maxsend::ValueResult> complete;
    for (size_t i = 0; i < results.size(); ++i) {
      maxsend::ValueResult& v = results[i];
      const Accumulated& a = acc[i];
      if (v.mpps_reps.size() != o.reps) continue;
      v.mpps = apps::stats_of(v.mpps_reps);
      v.sat_p50_us = apps::stats_of(a.p50).median;
      v.sat_p99_us = apps::stats_of(a.p99).median;
      v.sat_p999_us = apps::stats_of(a.p999).median;
      v.resources_rate = a.calls ? static_cast<double>(a.resources) / static_cast<double>(a.calls) : 0;
      v.mean_batch = a.calls ? static_cast<double>(a.packets_in_calls) / static_cast<double>(a.calls) : 0;
      complete.push_back(v);
    }
    results = std::move(complete);
  }
  done = 0;
  // Latency at a fixed load varies less than throughput: a sixth of the rounds will do.
  const unsigned load_reps = std::max(2u, o.reps / 6);
  for (const std::string& mode : o.modes) {
    double best = 0;
    for (const auto& v : results)
      if (v.mode == mode) best = std::max(best, v.mpps.median);
    for (auto& v : results) {
      if (v.mode != mode) continue;
      if (apps::stop_requested()) {
        stopped = true;
        break;
      }
      std::vector<double> p50, p99, p999;
      for (unsigned rep = 0; rep < load_reps && !apps::stop_requested(); ++rep) {
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
      if (apps::stop_requested()) {
        stopped = true;
        break;
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

  if (stopped)
    std::fprintf(human, "stopped by %s: the results below are from what was measured before it\n", apps::stop_signal_name());
  std::vector<maxsend::Recommendation> recommended;
  for (const std::string& mode : o.modes) recommended.push_back(maxsend::recommend(results, mode, o));

  std::fprintf(human, "\n%-12s %5s %9s %17s %8s %8s %7s %9s %10s %9s %9s  %s\n", "mode", "value", "Mpps", "[min - max]",
               "cyc/pkt", "fit cyc", "batch", "res/call", "fit share", "load p99", "P(share)", "verdict");
  for (const auto& v : results)
    std::fprintf(human, "%-12s %5u %9.2f  [%6.2f - %6.2f] %8.1f %8.1f %7.1f %9.3f %9.1f%% %7.1fus %8.0f%%  %s\n",
                 v.mode.c_str(), v.value, v.mpps.median, v.mpps.min, v.mpps.max, v.cycles_per_packet, v.fitted_cycles,
                 v.mean_batch, v.resources_rate, 100 * v.fitted_share, v.load_p99_us, 100 * v.share_probability,
                 maxsend::verdict_name(maxsend::verdict_of(v)));
  std::fprintf(human, "\n");
  for (const auto& r : recommended) std::fprintf(human, "%s\n\n", r.explanation.c_str());
  if (validate_value != 0)
    for (const auto& r : recommended) std::fprintf(human, "validate %s\n", maxsend::validate(results, r, validate_value, o).c_str());

  if (json_file) {
    nlohmann::json j;
    j["config"] = {{"values", o.values}, {"modes", o.modes}, {"reps", o.reps}, {"seconds", o.seconds},
                   {"frame_size", o.frame_size}, {"share", o.share}, {"latency_budget_us", o.latency_budget_us},
                   {"load_fraction", o.load_fraction}, {"run_drift", o.run_drift}, {"port", port->name()},
                   {"address_layout", apps::address_layout_name(layout)}};
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
                              {"mpps_reps", v.mpps_reps}, {"cycles_reps", v.cycles_reps},
                              {"fitted_cycles_per_packet", v.fitted_cycles}, {"fitted_share", v.fitted_share},
                              {"share_probability", v.share_probability},
                              {"reaches_share", v.reaches_share}, {"within_budget", v.within_budget},
                              {"verdict", maxsend::verdict_name(maxsend::verdict_of(v))}});
    }
    j["recommended"] = nlohmann::json::object();
    for (const auto& r : recommended)
      j["recommended"][r.mode] = {{"value", r.found ? nlohmann::json(r.value) : nlohmann::json(nullptr)},
                                  {"confidence", r.confidence}, {"best_mpps", r.best_mpps}, {"best_value", r.best_value},
                                  {"fit", {{"model", "cycles_per_packet = c + a / B"}, {"a", r.fit.a},
                                           {"a_ci95", {r.fit.a_lo, r.fit.a_hi}}, {"c", r.fit.c},
                                           {"c_ci95", {r.fit.c_lo, r.fit.c_hi}}, {"r2", r.fit.r2},
                                           {"resamples", r.fit.resamples}}},
                                  {"explanation", r.explanation}};
    if (validate_value != 0) {
      j["validate"] = {{"value", validate_value}};
      for (const auto& r : recommended) j["validate"][r.mode] = maxsend::validate(results, r, validate_value, o);
    }
    json_file->write(j.dump(2) + "\n");
  }
  if (csv_file) {
    std::ostringstream csv;
    csv << "mode,value,mpps,mpps_min,mpps_max,cycles_per_packet,mean_batch,resources_per_call,"
           "sat_p50_us,sat_p99_us,sat_p999_us,load_mpps,load_p50_us,load_p99_us,load_p999_us,reaches_share,within_budget\n";
    for (const auto& v : results)
      csv << v.mode << ',' << v.value << ',' << v.mpps.median << ',' << v.mpps.min << ',' << v.mpps.max << ','
          << v.cycles_per_packet << ',' << v.mean_batch << ',' << v.resources_rate << ',' << v.sat_p50_us << ','
          << v.sat_p99_us << ',' << v.sat_p999_us << ',' << v.load_mpps << ',' << v.load_p50_us << ','
          << v.load_p99_us << ',' << v.load_p999_us << ',' << v.reaches_share << ',' << v.within_budget << '\n';
    csv_file->write(csv.str());
  }
  if (svg_file) svg_file->write(maxsend::plot_svg(results, recommended, o,
                                                 "pkio-maxsend on " + port->name() + ", " + std::to_string(o.frame_size) + "-byte frames"));
  int code = apps::exit_status::ok;
  for (auto* file : {&json_file, &csv_file, &svg_file})
    if (*file)
      if (auto closed = (*file)->close(); !closed) code = fail(closed.error().message, apps::exit_status::output_failed);
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    code = fail(std::string("cannot write to stdout: ") + std::strerror(errno) + (json_path.empty() ? " (the results are lost; --json FILE keeps them)" : ""),
                apps::exit_status::output_failed);
  port.reset();
  return code;
}
