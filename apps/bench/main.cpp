// pkio-bench: line-rate send benchmark. Runs, in one process and on one port, the raw DPDK
// loop (rte_pktmbuf_alloc_bulk + rte_eth_tx_burst), pkio's inline path and pkio's
// cross-thread path for each frame size and burst size, with repetitions; reports Mpps,
// Gbit/s, cycles per packet, the ratio of each pkio path to the raw loop, and the share of
// line rate. Usage: pkio-bench [EAL args] -- [options]. Exit: 0 done, 2 bad input.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <pkio/dpdk/eal.h>
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
  app.add_option("--paths", paths_text, "raw, inline, cross_thread (comma-separated)")->capture_default_str();
  app.add_option("--reps", reps, "repetitions per case (median and spread are reported)")->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--seconds", seconds, "seconds per repetition")->check(CLI::Range(0.05, 60.0))->capture_default_str();
  app.add_option("--link-speed", link_gbps, "link speed in Gbit/s for the line-rate share (default: the port's)");
  app.add_option("--json", json_path, "write the results as JSON to FILE");
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
      if (item == "raw") paths.push_back(apps::SendPath::raw);
      else if (item == "inline") paths.push_back(apps::SendPath::inline_path);
      else if (item == "cross_thread") paths.push_back(apps::SendPath::cross_thread);
      else return fail("--paths: unknown path '" + item + "' (raw, inline, cross_thread)");
    }
  }

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
  std::printf("pkio-bench %s: %s; link %.0f Gbit/s; %u rep(s) of %.2f s per case\n", PKIO_VERSION,
              port->placement().c_str(), link_gbps, reps, seconds);
  std::printf("%-13s %6s %6s %10s %17s %9s %9s %8s %8s\n", "path", "size", "burst", "Mpps", "[min - max]",
              "Gbit/s", "cyc/pkt", "vs raw", "line %");

  nlohmann::json results = nlohmann::json::array();
  for (uint32_t size : sizes) {
    for (uint32_t burst : bursts) {
      std::map<apps::SendPath, double> medians;
      for (apps::SendPath path : paths) {
        if (path == apps::SendPath::cross_thread && !two_lcores) {
          std::printf("%-13s %6u %6u   skipped: needs two EAL lcores (-l)\n", apps::path_name(path), size, burst);
          continue;
        }
        std::vector<double> mpps, cpp;
        for (unsigned rep = 0; rep < reps; ++rep) {
          apps::RunSpec spec;
          spec.path = path;
          spec.frame_size = size;
          spec.burst = burst;
          spec.seconds = seconds;
          apps::RunResult r;
          if (apps::run_send_path(*port, spec, r, error) != Status::success) return fail(error);
          mpps.push_back(r.mpps);
          cpp.push_back(r.cycles_per_packet);
        }
        const apps::Stats m = apps::stats_of(mpps), c = apps::stats_of(cpp);
        medians[path] = m.median;
        const double gbps = m.median * 1e6 * size * 8 / 1e9;
        const double line = link_gbps > 0 ? 100.0 * m.median * 1e6 * (size + 24) * 8 / (link_gbps * 1e9) : 0;
        const bool have_raw = medians.count(apps::SendPath::raw) && medians[apps::SendPath::raw] > 0;
        const double ratio = have_raw ? m.median / medians[apps::SendPath::raw] : 0;
        std::printf("%-13s %6u %6u %10.3f  [%6.2f - %6.2f] %9.2f %9.1f %8s %8.1f\n", apps::path_name(path), size, burst,
                    m.median, m.min, m.max, gbps, c.median, have_raw ? (std::to_string(ratio).substr(0, 5)).c_str() : "-", line);
        std::fflush(stdout);
        results.push_back({{"name", std::string(apps::path_name(path)) + "/" + std::to_string(size) + "/" + std::to_string(burst)},
                           {"path", apps::path_name(path)}, {"frame_size", size}, {"burst", burst},
                           {"mpps", m.median}, {"mpps_min", m.min}, {"mpps_max", m.max}, {"gbps", gbps},
                           {"cycles_per_packet", c.median}, {"ratio_to_raw", have_raw ? nlohmann::json(ratio) : nlohmann::json(nullptr)},
                           {"line_rate_percent", line}, {"reps", reps}, {"seconds_per_rep", seconds}});
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
