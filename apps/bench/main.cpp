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
#include "address_layout.h"
#include "command_line.h"
#include "files.h"
#include "send_paths.h"
#include "signals.h"
#include "validate.h"
#include "text.h"
#include "threads.h"
#include <pkio/version.h>

namespace {

constexpr const char* program = "pkio-bench";

int fail(const std::string& message, int code = pkio::apps::exit_status::bad_input) {
  return pkio::apps::fail(program, message, code);
}

/// Text for people: stdout (checked: a closed stdout is reported at the end), or stderr when
/// stdout carries JSON lines.
void say(bool to_stderr, const std::string& text) {
  if (to_stderr) std::fputs(text.c_str(), stderr);
  else pkio::apps::print(text);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pkio;
  const apps::AddressLayout layout = apps::fix_address_layout(argc, argv);  // may re-execute: first
  apps::install_stop_signals();  // first: a signal at any moment ends with what was measured
  std::vector<std::string> eal_args, app_args;
  dpdk::split_args(argc, argv, eal_args, app_args);

  const std::string all_paths = "raw, handoff, inline, inline_deserialized, send, cross_thread";
  apps::CommandLine cl(program, std::string("pkio-bench: line-rate send benchmark, pkio against raw DPDK in one run.\n"
                                            "Usage: pkio-bench [EAL args] -- [options]; no EAL args: net_null, no hugepages.\n") +
                                    apps::exit_status_help);
  cl.option("--port", "port number or device name", "0");
  cl.option("--sizes", "frame sizes in bytes without FCS, comma-separated (60-9014; at most the port's MTU + 14)", "64,512,1514");
  cl.option("--bursts", "burst sizes = OID_GEN_MAXIMUM_SEND_PACKETS, comma-separated (1-1024)", "1,8,32,64");
  cl.option("--paths", "comma-separated, from: " + all_paths +
                           " (handoff: raw mbufs handed to a second thread over an rte_ring, the floor for "
                           "cross_thread; send: one send call per packet)",
            "raw,inline,cross_thread");
  cl.option("--reps", "repetitions per case, interleaved across paths (1-100; median and spread are reported)", "3");
  cl.option("--seconds", "seconds per repetition (0.05-60)", "0.3");
  cl.option("--link-speed", "link speed in Gbit/s for the line-rate share (default: the port's)");
  cl.option("--json", "write the results as JSON to FILE (opened before measuring)");
  cl.flag("--aslr", apps::aslr_help);
  cl.option("--metrics", "serve Prometheus/OpenMetrics text at http://ADDR:PORT/metrics while running (ADDR: IPv4, localhost or *)");
  cl.option("--progress", "text (the table on stdout) or json (one JSON object per case on stdout, the table on stderr)", "text");
  if (auto code = cl.parse_or_exit(app_args)) return *code;
  const auto bad = [](const Error& e) { return fail(e.message + " (see --help)"); };

  const std::string port_name = cl.text_or("--port", "0");
  if (port_name.empty()) return fail("--port: an empty value (see --help)");
  auto sizes_list = apps::parse_whole_list("--sizes", cl.text_or("--sizes", "64,512,1514"), 60, 9014);
  if (!sizes_list) return bad(sizes_list.error());
  auto bursts_list = apps::parse_whole_list("--bursts", cl.text_or("--bursts", "1,8,32,64"), 1, 1024);
  if (!bursts_list) return bad(bursts_list.error());
  auto path_words = apps::parse_word_list("--paths", cl.text_or("--paths", "raw,inline,cross_thread"),
                                          {"raw", "handoff", "inline", "inline_deserialized", "send", "cross_thread"});
  if (!path_words) return bad(path_words.error());
  auto reps_value = apps::parse_whole("--reps", cl.text_or("--reps", "3"), 1, 100);
  if (!reps_value) return bad(reps_value.error());
  auto seconds_value = apps::parse_real("--seconds", cl.text_or("--seconds", "0.3"), 0.05, 60);
  if (!seconds_value) return bad(seconds_value.error());
  double link_gbps = 0;
  if (cl.given("--link-speed")) {
    auto v = apps::parse_positive_real("--link-speed", cl.text("--link-speed"), 1e4);
    if (!v) return bad(v.error());
    link_gbps = *v;
  }
  const std::string json_path = cl.text("--json"), metrics_address = cl.text("--metrics");
  if (cl.given("--json") && json_path.empty()) return fail("--json: an empty value (see --help)");
  const std::string progress = cl.text_or("--progress", "text");
  if (progress != "text" && progress != "json")
    return fail("--progress: '" + apps::printable(progress) + "' is not text or json (see --help)");
  if (cl.given("--metrics"))
    if (auto where = metrics::parse_listen_address(metrics_address); !where) return fail("--metrics: " + where.error().message);
  const bool progress_json = progress == "json";
  std::vector<uint32_t> sizes(sizes_list->begin(), sizes_list->end()), bursts(bursts_list->begin(), bursts_list->end());
  std::vector<apps::SendPath> paths;
  for (const std::string& w : *path_words) {
    apps::SendPath path;
    (void)apps::path_of_name(w, path);
    paths.push_back(path);
  }
  const auto reps = static_cast<unsigned>(*reps_value);
  const double seconds = *seconds_value;
  // The report is opened before anything runs: a path that cannot be written is known now.
  std::unique_ptr<apps::OutputFile> json_file;
  if (!json_path.empty()) {
    auto f = apps::OutputFile::open("--json", json_path);
    if (!f) return fail(f.error().message);
    json_file = std::move(*f);
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
  std::unique_ptr<metrics::Endpoint> endpoint;
  if (!metrics_address.empty()) {
    auto started = metrics::Endpoint::start(metrics_address);
    if (!started) return fail("--metrics: " + started.error().message);
    endpoint = std::move(*started);
    std::fprintf(stderr, "pkio-bench: metrics at %s\n", endpoint->url().c_str());
  }
  say(progress_json, apps::format("pkio-bench %s: %s; link %.0f Gbit/s; %u rep(s) of %.2f s per case; %s addresses\n",
              PKIO_VERSION, port->placement().c_str(), link_gbps, reps, seconds, apps::address_layout_name(layout)));
  say(progress_json, apps::format("%-19s %5s %5s %9s %17s %8s %8s %21s %9s %7s\n", "path", "size", "burst", "Mpps", "[min - max]",
              "Gbit/s", "cyc/pkt", "vs raw [min - max]", "vs hand", "line %"));

  // Repetitions are interleaved (rep 1 of every path, then rep 2, ...) and each pkio rep is
  // divided by the raw rep next to it: on a shared machine the rate drifts between seconds,
  // and a ratio of neighbours cancels most of that drift where a ratio of medians would not.
  nlohmann::json results = nlohmann::json::array();
  bool stopped = false;  // a signal: the cases measured so far are reported
  for (uint32_t size : sizes) {
    for (uint32_t burst : bursts) {
      if (apps::stop_requested()) {
        stopped = true;
        break;
      }
      std::map<apps::SendPath, std::vector<double>> mpps, cpp, cpu;
      std::vector<apps::SendPath> run_paths;
      for (apps::SendPath path : paths) {
        if (apps::needs_two_lcores(path) && !two_lcores) {
          say(progress_json, apps::format("%-19s %5u %5u   skipped: needs two EAL lcores (-l)\n", apps::path_name(path), size, burst));
          continue;
        }
        run_paths.push_back(path);
      }
      for (unsigned rep = 0; rep < reps && !apps::stop_requested(); ++rep) {
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
          cpu[path].push_back(r.cpu_per_wall);
        }
      }
      if (apps::stop_requested()) {  // this case's reps are incomplete: not reported
        stopped = true;
        break;
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
        say(progress_json, apps::format("%-19s %5u %5u %9.3f  [%6.2f - %6.2f] %8.2f %8.1f %21s %9s %7.1f\n", apps::path_name(path), size,
                    burst, m.median, m.min, m.max, gbps, c.median, raw_text, hand_text, line));
        // A two-thread path whose threads did not each get a core measured the scheduler:
        // said so, and its ratios are not to be read as the path's.
        const double cpu_per_wall = apps::stats_of(cpu[path]).min;
        const bool own_cores = !apps::needs_two_lcores(path) || cpu_per_wall >= 1.8;
        if (!own_cores)
          say(progress_json, apps::format("%-19s %5u %5u   NOT VALID: its two threads shared a core (CPU time %.2f x wall "
                                          "time, 2 expected); give EAL two free cores (-l)\n",
                                          apps::path_name(path), size, burst, cpu_per_wall));
        const auto or_null = [](bool have, double v) { return have ? nlohmann::json(v) : nlohmann::json(nullptr); };
        results.push_back({{"name", std::string(apps::path_name(path)) + "/" + std::to_string(size) + "/" + std::to_string(burst)},
                           {"path", apps::path_name(path)}, {"frame_size", size}, {"burst", burst},
                           {"mpps", m.median}, {"mpps_min", m.min}, {"mpps_max", m.max}, {"mpps_reps", mpps[path]},
                           {"gbps", gbps}, {"cycles_per_packet", c.median},
                           {"ratio_to_raw", or_null(!to_raw.empty(), raw_ratio.median)},
                           {"ratio_to_raw_min", or_null(!to_raw.empty(), raw_ratio.min)},
                           {"ratio_to_raw_max", or_null(!to_raw.empty(), raw_ratio.max)},
                           {"ratio_to_handoff", or_null(vs_hand, hand_ratio.median)},
                           {"line_rate_percent", line}, {"reps", reps}, {"seconds_per_rep", seconds},
                           {"cpu_per_wall", cpu_per_wall}, {"threads_on_own_cores", own_cores},
                           {"address_layout", apps::address_layout_name(layout)}});
        if (progress_json) {
          apps::print(results.back().dump() + "\n");
        }
      }
    }
  }
  int code = apps::exit_status::ok;
  if (stopped) say(progress_json, std::string("stopped by ") + apps::stop_signal_name() + ": the cases above are all that was measured\n");
  if (json_file) {
    json_file->write(results.dump(2) + "\n");
    if (auto closed = json_file->close(); !closed) code = fail(closed.error().message, apps::exit_status::output_failed);
  }
  if (auto out = apps::stdout_result(); !out)
    code = fail(out.error().message + (json_path.empty() ? " (the table is lost; --json FILE keeps it)" : ""),
                apps::exit_status::output_failed);
  port.reset();
  dpdk::eal_cleanup();
  return code;
}
