// pkio-bench: line-rate send benchmark. Runs, in one process and on one port, the raw DPDK
// loop (rte_pktmbuf_alloc_bulk + rte_eth_tx_burst), a raw two-thread handoff, and pkio's
// paths (apps/common/send_paths.h) for each frame size and burst size, with interleaved
// repetitions; reports Mpps, Gbit/s, cycles per packet, the ratio of each path to the raw
// loop run beside it (median and spread), and the share of line rate. Usage: pkio-bench [EAL args] -- [options]. Exit: 0 done, 2 bad input.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <pkio/dpdk/eal.h>
#include <pkio/metrics.h>
#include "send_paths.h"
#include "text.h"
#include "threads.h"
#include <pkio/version.h>

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "pkio-bench: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pkio;
  std::vector<std::string> eal_args, app_args;
  dpdk::split_args(argc, argv, eal_args, app_args);

  std::string port_name = "0", sizes_text = "64,512,1514", bursts_text = "1,8,32,64",
              paths_text = "raw,inline,cross_thread", json_path;
  unsigned reps = 3;
  double seconds = 0.3, link_gbps = 0;
  CLI::App app{"pkio-bench: line-rate send benchmark, pkio against raw DPDK in one run.\n"
               "Usage: pkio-bench [EAL args] -- [options]; no EAL args: net_null, no hugepages.",
               "pkio-bench"};
  app.set_version_flag("--version", PKIO_VERSION);
  app.add_option("--port", port_name, "port number or device name")->capture_default_str();
  app.add_option("--sizes", sizes_text, "frame sizes in bytes without FCS, comma-separated (60-9018; at most the port's MTU + 14)")->capture_default_str();
  app.add_option("--bursts", bursts_text, "burst sizes = OID_GEN_MAXIMUM_SEND_PACKETS, comma-separated (1-1024)")->capture_default_str();
  const std::string all_paths = "raw, handoff, inline, inline_deserialized, send, cross_thread";
  app.add_option("--paths", paths_text,
                 "comma-separated, from: " + all_paths +
                     " (handoff: raw mbufs handed to a second thread over an rte_ring, the floor "
                     "for cross_thread; send: one send call per packet)")
      ->capture_default_str();
  app.add_option("--reps", reps, "repetitions per case (median and spread are reported)")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--seconds", seconds, "seconds per repetition")->check(CLI::Range(0.05, 60.0))->capture_default_str();
  app.add_option("--link-speed", link_gbps, "link speed in Gbit/s for the line-rate share (default: the port's)");
  app.add_option("--json", json_path, "write the results as JSON to FILE");
  std::string metrics_address, progress = "text";
  app.add_option("--metrics", metrics_address, "serve Prometheus/OpenMetrics text at http://ADDR:PORT/metrics while running (ADDR: IPv4, localhost or *)");
  app.add_option("--progress", progress, "text (the table on stdout) or json (one JSON object per case on stdout, the table on stderr)")->capture_default_str();
  std::vector<std::string> reversed(app_args.rbegin(), app_args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      std::printf("%s", app.help().c_str());
      return 0;
    }
    return fail(std::string(e.what()) + " (see --help)");
  }
  std::vector<uint32_t> sizes, bursts;
  if (!apps::parse_number_list(sizes_text, sizes, 60, 9018)) return fail("--sizes: '" + sizes_text + "' is not a list of frame sizes from 60 to 9018");
  if (!apps::parse_number_list(bursts_text, bursts, 1, 1024)) return fail("--bursts: '" + bursts_text + "' is not a list of burst sizes from 1 to 1024");
  std::vector<apps::SendPath> paths;
  {
    std::stringstream in(paths_text);
    std::string item;
    while (std::getline(in, item, ',')) {
      apps::SendPath path;
      if (!apps::path_of_name(item, path))
        return fail("--paths: unknown path '" + item + "' (" + all_paths + ")");
      paths.push_back(path);
    }
  }

  if (progress != "text" && progress != "json") return fail("--progress: '" + progress + "' is not text or json");
  if (!metrics_address.empty())
    if (auto where = metrics::parse_listen_address(metrics_address); !where) return fail("--metrics: " + where.error().message);
  const bool progress_json = progress == "json";
  FILE* const human = progress_json ? stderr : stdout;  // the table, when stdout carries JSON lines

  std::string error;
  if (auto up = dpdk::eal_init(eal_args); !up) return fail(up.error().message);
  uint16_t port_id = 0;
  if (auto found = dpdk::Port::find(port_name); found) port_id = *found;
  else return fail(found.error().message);
  dpdk::PortConfig pc;
  pc.mbufs = 32767;
  std::unique_ptr<dpdk::Port> port;
  if (auto opened = dpdk::Port::open(port_id, pc); opened) port = std::move(*opened);
  else return fail(opened.error().message);
  if (link_gbps <= 0) {
    rte_eth_link link{};
    rte_eth_link_get_nowait(port_id, &link);
    if (link.link_speed != RTE_ETH_SPEED_NUM_UNKNOWN) link_gbps = link.link_speed / 1000.0;
  }
  // The worker goes on the next EAL lcore (apps/common/threads.h): with one lcore it would
  // share the sender's CPU and measure the scheduler, not the path.
  const bool two_lcores = apps::eal_lcore_count() >= 2;
  std::unique_ptr<metrics::Endpoint> endpoint;
  if (!metrics_address.empty()) {
    auto started = metrics::Endpoint::start(metrics_address);
    if (!started) return fail("--metrics: " + started.error().message);
    endpoint = std::move(*started);
    std::fprintf(stderr, "pkio-bench: metrics at %s\n", endpoint->url().c_str());
  }
  std::fprintf(human, "pkio-bench %s: %s; link %.0f Gbit/s; %u rep(s) of %.2f s per case\n", PKIO_VERSION,
              port->placement().c_str(), link_gbps, reps, seconds);
  std::fprintf(human, "%-19s %5s %5s %9s %17s %8s %8s %21s %9s %7s\n", "path", "size", "burst", "Mpps", "[min - max]",
              "Gbit/s", "cyc/pkt", "vs raw [min - max]", "vs hand", "line %");

  // Repetitions are interleaved (rep 1 of every path, then rep 2, ...) and each pkio rep is
  // divided by the raw rep next to it: on a shared machine the rate drifts between seconds,
  // and a ratio of neighbours cancels most of that drift where a ratio of medians would not.
  nlohmann::json results = nlohmann::json::array();
  for (uint32_t size : sizes) {
    for (uint32_t burst : bursts) {
      std::map<apps::SendPath, std::vector<double>> mpps, cpp;
      std::vector<apps::SendPath> run_paths;
      for (apps::SendPath path : paths) {
        if (apps::needs_two_lcores(path) && !two_lcores) {
          std::fprintf(human, "%-19s %5u %5u   skipped: needs two EAL lcores (-l)\n", apps::path_name(path), size, burst);
          continue;
        }
        run_paths.push_back(path);
      }
      for (unsigned rep = 0; rep < reps; ++rep) {
        for (apps::SendPath path : run_paths) {
          apps::RunSpec spec;
          spec.path = path;
          spec.frame_size = size;
          spec.burst = burst;
          spec.seconds = seconds;
          spec.metrics = endpoint.get();
          spec.metrics_name = std::string(apps::path_name(path)) + "/" + std::to_string(size) + "/" + std::to_string(burst);
          apps::RunResult r;
          if (apps::run_send_path(*port, spec, r, error) != Status::success) return fail(error);
          mpps[path].push_back(r.mpps);
          cpp[path].push_back(r.cycles_per_packet);
        }
      }
      const auto ratios_to = [&](apps::SendPath path, apps::SendPath base) {
        std::vector<double> out;
        if (!mpps.count(base)) return out;
        for (unsigned rep = 0; rep < reps; ++rep)
          if (mpps[base][rep] > 0) out.push_back(mpps[path][rep] / mpps[base][rep]);
        return out;
      };
      for (apps::SendPath path : run_paths) {
        const apps::Stats m = apps::stats_of(mpps[path]), c = apps::stats_of(cpp[path]);
        const double gbps = m.median * 1e6 * size * 8 / 1e9;
        const double line = link_gbps > 0 ? 100.0 * m.median * 1e6 * (size + 24) * 8 / (link_gbps * 1e9) : 0;
        const std::vector<double> to_raw = ratios_to(path, apps::SendPath::raw);
        const apps::Stats raw_ratio = apps::stats_of(to_raw);
        const bool vs_hand = path == apps::SendPath::cross_thread && mpps.count(apps::SendPath::handoff);
        const apps::Stats hand_ratio = apps::stats_of(vs_hand ? ratios_to(path, apps::SendPath::handoff) : std::vector<double>{});
        char raw_text[32] = "-", hand_text[16] = "-";
        if (!to_raw.empty())
          std::snprintf(raw_text, sizeof raw_text, "%.3f [%.2f - %.2f]", raw_ratio.median, raw_ratio.min, raw_ratio.max);
        if (vs_hand) std::snprintf(hand_text, sizeof hand_text, "%.3f", hand_ratio.median);
        std::fprintf(human, "%-19s %5u %5u %9.3f  [%6.2f - %6.2f] %8.2f %8.1f %21s %9s %7.1f\n", apps::path_name(path), size,
                    burst, m.median, m.min, m.max, gbps, c.median, raw_text, hand_text, line);
        std::fflush(human);
        const auto or_null = [](bool have, double v) { return have ? nlohmann::json(v) : nlohmann::json(nullptr); };
        results.push_back({{"name", std::string(apps::path_name(path)) + "/" + std::to_string(size) + "/" + std::to_string(burst)},
                           {"path", apps::path_name(path)}, {"frame_size", size}, {"burst", burst},
                           {"mpps", m.median}, {"mpps_min", m.min}, {"mpps_max", m.max}, {"mpps_reps", mpps[path]},
                           {"gbps", gbps}, {"cycles_per_packet", c.median},
                           {"ratio_to_raw", or_null(!to_raw.empty(), raw_ratio.median)},
                           {"ratio_to_raw_min", or_null(!to_raw.empty(), raw_ratio.min)},
                           {"ratio_to_raw_max", or_null(!to_raw.empty(), raw_ratio.max)},
                           {"ratio_to_handoff", or_null(vs_hand, hand_ratio.median)},
                           {"line_rate_percent", line}, {"reps", reps}, {"seconds_per_rep", seconds}});
        if (progress_json) {
          std::printf("%s\n", results.back().dump().c_str());
          std::fflush(stdout);
        }
      }
    }
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << results.dump(2) << "\n";
    if (!out) return fail("cannot write " + json_path);
  }
  port.reset();
  dpdk::eal_cleanup();
  return 0;
}
