// pkio-ndr: RFC 2544 throughput, NDR and PDR, with trials that count what was really
// offered. Usage: pkio-ndr [EAL args] -- --port P --rx-port Q [options]. main() reads as its
// steps: options, outputs (opened before anything is sent), ports, per frame size the search
// and the trials around it, the report. Exit statuses: apps/common/command_line.h.
#include <rte_ethdev.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <tuple>
#include <cstdio>

#include <pkio/dpdk/eal.h>
#include <pkio/metrics.h>
#include <pkio/version.h>

#include "command_line.h"
#include "files.h"
#include "options.h"
#include "report.h"
#include "search.h"
#include "signals.h"
#include "text.h"
#include "trial.h"
#include "validate.h"

namespace {

using namespace pkio;
constexpr const char* program = "pkio-ndr";

struct NdrOptions {
  std::string port = "0", rx_port;
  std::vector<uint32_t> sizes{64};
  double pdr = 0.005, precision = 0.01, trial_s = 1, final_s = 2, tolerance = 0.01;
  std::string max_rate;  // as given
  gen::Options rate;     // --max-rate parsed (rate_pps, rate_bps or rate_percent)
  bool loss_curve = false, latency = true, quiet = false, progress_json = false;
  uint32_t max_trials = 60;
  std::string json, csv, svg, metrics;
  gen::Options traffic;  // streams and batch, from --profile and the stream options
};

const char* const rfc2544_sizes = "64,128,256,512,1024,1280,1518";

std::optional<int> parse(const std::vector<std::string>& args, NdrOptions& o) {
  apps::CommandLine cl(program,
                       "pkio-ndr: RFC 2544 throughput: the highest rate a device under test forwards with no loss\n"
                       "(NDR) and with a loss ratio of at most --pdr (PDR), from trials whose offered load is what\n"
                       "pkio completed with success. Usage: pkio-ndr [EAL args] -- --port P --rx-port Q [options].\n" +
                           std::string(apps::exit_status_help));
  cl.option("--port", "the port that sends into the DUT (number or device name)", "0");
  cl.option("--rx-port", "the port the DUT forwards to (default: --port, a loop)");
  cl.option("--sizes", std::string("frame sizes, comma-separated, as they leave the port, FCS not counted (60-9014), or rfc2544 (") +
                           rfc2544_sizes + ")", "64");
  cl.option("--pdr", "partial drop rate: the loss ratio a PDR trial may have (0 < R < 1)", "0.005");
  cl.option("--precision", "stop when the bounds are within this share of the upper one (0.0001-0.5)", "0.01");
  cl.option("--trial-seconds", "seconds per search trial (RFC 2544 asks for 60)", "1");
  cl.option("--final-seconds", "seconds of the trial that confirms each result (RFC 2544: 60)", "2");
  cl.option("--tolerance", "share of the intended load the sender may fall short by before a trial is invalid (0-0.2)", "0.01");
  cl.option("--max-rate", "the first trial's rate and the search's ceiling: Npps/kpps/Mpps, bps/Mbps/Gbps or N% of link speed (default: the link's line rate)");
  cl.option("--max-trials", "trials per frame size at most (search and finals)", "60");
  cl.option("--profile", "streams to send (a pkio-gen TOML profile); its sizes are replaced by --sizes");
  cl.option("--batch", "OID_GEN_MAXIMUM_SEND_PACKETS", "32");
  cl.flag("--loss-curve", "also the frame-loss-rate curve: loss at 100 %, 90 %, ... 10 % of the maximum rate");
  cl.flag("--no-latency", "skip the latency trials at 100 %, 90 % and 50 % of the NDR");
  cl.option("--json", "write the results (ndr, pdr, trials per size) as JSON to FILE");
  cl.option("--csv", "write one line per trial to FILE");
  cl.option("--svg", "write a plot of the search to FILE (offered load by trial, loss against load)");
  cl.option("--metrics", "serve Prometheus text at http://ADDR:PORT/metrics while running (ADDR: IPv4, localhost or *)");
  cl.option("--progress", "text (a line per trial), json (one JSON object per trial on stdout, the rest on stderr) or none");
  cl.flag("--quiet", "no line per trial");
  if (auto code = cl.parse_or_exit(args)) return code;

  const auto refuse = [&](const std::string& why) { return apps::fail(program, why + " (see --help)"); };
  const auto real = [&](const char* name, double& field, double lo, double hi) -> bool {
    if (!cl.given(name)) return true;
    auto v = apps::parse_real(name, cl.text(name), lo, hi);
    if (v) field = *v;
    else refuse(v.error().message);
    return v.has_value();
  };
  if (cl.given("--port")) o.port = cl.text("--port");
  o.rx_port = cl.text_or("--rx-port", o.port);
  if (o.port.empty() || o.rx_port.empty()) return refuse("--port, --rx-port: an empty value");
  if (cl.given("--sizes")) {
    const std::string text = cl.text("--sizes") == "rfc2544" ? rfc2544_sizes : cl.text("--sizes");
    auto list = apps::parse_whole_list("--sizes", text, 60, 9014);
    if (!list) return refuse(list.error().message);
    o.sizes.assign(list->begin(), list->end());
  }
  if (!real("--precision", o.precision, 0.0001, 0.5) || !real("--trial-seconds", o.trial_s, 0.05, 3600) ||
      !real("--final-seconds", o.final_s, 0.05, 3600) || !real("--tolerance", o.tolerance, 0, 0.2))
    return apps::exit_status::bad_input;
  if (cl.given("--pdr")) {
    auto v = apps::parse_positive_real("--pdr", cl.text("--pdr"), 1);
    if (!v || *v >= 1) return refuse(v ? "--pdr: must be below 1" : v.error().message);
    o.pdr = *v;
  }
  if (cl.given("--max-trials")) {
    auto v = apps::parse_whole("--max-trials", cl.text("--max-trials"), 1, 10000);
    if (!v) return refuse(v.error().message);
    o.max_trials = static_cast<uint32_t>(*v);
  }
  if (cl.given("--max-rate")) {
    o.max_rate = cl.text("--max-rate");
    if (!gen::parse_rate(o.max_rate, o.rate))
      return refuse("--max-rate: '" + apps::printable(o.max_rate) + "' is not a rate above 0 (e.g. 2Mpps, 10Gbps, 50%)");
  }
  if (cl.given("--progress")) {
    const std::string& p = cl.text("--progress");
    if (p == "json") o.progress_json = true;
    else if (p == "none") o.quiet = true;
    else if (p != "text") return refuse("--progress: '" + apps::printable(p) + "' is not text, json or none");
  }
  if (cl.given("--quiet")) o.quiet = true;
  o.loss_curve = cl.given("--loss-curve");
  o.latency = !cl.given("--no-latency");
  for (const char* name : {"--json", "--csv", "--svg"})
    if (cl.given(name) && cl.text(name).empty()) return refuse(std::string(name) + ": an empty value");
  o.json = cl.text("--json");
  o.csv = cl.text("--csv");
  o.svg = cl.text("--svg");
  if (cl.given("--metrics")) {
    auto where = metrics::parse_listen_address(cl.text("--metrics"));
    if (!where) return refuse("--metrics: " + where.error().message);
    o.metrics = cl.text("--metrics");
  }
  // The traffic through pkio-gen's own options and profile reader: one validation of streams.
  std::vector<std::string> traffic_args{"--port", o.port, "--quiet"};
  for (const char* name : {"--profile", "--batch"})
    if (cl.given(name)) {
      traffic_args.push_back(name);
      traffic_args.push_back(cl.text(name));
    }
  int code = 0;
  std::string error, help;
  auto traffic = gen::parse_options(traffic_args, code, error, help);
  if (!traffic) return refuse(error);
  o.traffic = *traffic;
  o.traffic.queues = 1;
  o.traffic.pcap.clear();
  return std::nullopt;
}

/// The search's ceiling for `size`: --max-rate, or the link's line rate.
Result<double> max_rate_for(const NdrOptions& o, uint32_t size, uint64_t link_mbps) {
  const double wire_bits = (size + 24) * 8.0;
  if (o.rate.rate_pps > 0) return o.rate.rate_pps;
  if (o.rate.rate_bps > 0) return o.rate.rate_bps / wire_bits;
  if (link_mbps == 0)
    return failure_of(Status::failure, "the port reports no link speed: give --max-rate");
  const double share = o.rate.rate_percent > 0 ? o.rate.rate_percent / 100 : 1.0;
  return share * static_cast<double>(link_mbps) * 1e6 / wire_bits;
}

/// Output text for people: stdout, or stderr when stdout carries JSON lines.
void say(const NdrOptions& o, const std::string& text) {
  if (o.progress_json) std::fputs(text.c_str(), stderr);
  else apps::print(text);
}

}  // namespace

int main(int argc, char** argv) {
  apps::install_stop_signals();  // first: a signal at any moment ends with what was found
  std::vector<std::string> eal_args, app_args;
  dpdk::split_args(argc, argv, eal_args, app_args);
  NdrOptions o;
  if (auto code = parse(app_args, o)) return *code;

  // Outputs first: a report that cannot be written is known before any trial runs.
  std::unique_ptr<apps::OutputFile> json_file, csv_file, svg_file;
  std::vector<const apps::OutputFile*> outputs;
  for (auto [name, path, file] : {std::tuple{"--json", &o.json, &json_file}, std::tuple{"--csv", &o.csv, &csv_file},
                                  std::tuple{"--svg", &o.svg, &svg_file}}) {
    if (path->empty()) continue;
    auto f = apps::OutputFile::open(name, *path);
    if (!f) return apps::fail(program, f.error().message);
    *file = std::move(*f);
    outputs.push_back(file->get());
  }
  if (auto distinct = apps::distinct_outputs(outputs); !distinct) return apps::fail(program, distinct.error().message);

  if (auto up = dpdk::eal_init(eal_args); !up) return apps::fail(program, up.error().message);
  std::unique_ptr<dpdk::Port> tx_port, rx_port_own;
  {
    auto tx_id = dpdk::Port::find(o.port);
    if (!tx_id) return apps::fail(program, "--port: " + tx_id.error().message);
    auto rx_id = dpdk::Port::find(o.rx_port);
    if (!rx_id) return apps::fail(program, "--rx-port: " + rx_id.error().message);
    const uint32_t largest = *std::max_element(o.sizes.begin(), o.sizes.end());
    dpdk::PortConfig pc;
    pc.mbufs = 16383;
    if (largest > 1514) pc.mtu = static_cast<uint16_t>(largest - 14);  // RFC 2544's 1518 and jumbo sizes
    auto tx = dpdk::Port::open(*tx_id, pc);
    if (!tx) return apps::fail(program, "--port: " + tx.error().message);
    tx_port = std::move(*tx);
    if (*rx_id != *tx_id) {
      auto rx = dpdk::Port::open(*rx_id, pc);
      if (!rx) return apps::fail(program, "--rx-port: " + rx.error().message);
      rx_port_own = std::move(*rx);
    }
  }
  ndr::TrialPorts ports{tx_port.get(), rx_port_own ? rx_port_own.get() : tx_port.get()};
  rte_eth_link link{};
  rte_eth_link_get_nowait(tx_port->id(), &link);
  const uint64_t link_mbps = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
  for (uint32_t size : o.sizes)
    if (size > tx_port->mtu() + 14u)
      return apps::fail(program, apps::format("--sizes: %u bytes is above the port's largest frame (MTU %u + 14)", size,
                                              tx_port->mtu()));

  std::unique_ptr<metrics::Endpoint> endpoint;
  std::atomic<uint32_t> current_index{0}, current_size{0};
  std::atomic<double> current_rate{0};
  if (!o.metrics.empty()) {
    auto started = metrics::Endpoint::start(o.metrics);
    if (!started) return apps::fail(program, "--metrics: " + started.error().message);
    endpoint = std::move(*started);
    endpoint->add_source([&](std::string& out) {
      metrics::Writer w(out);
      w.family("pkio_ndr_trial", "gauge", "The trial in progress (1, 2, ... within its frame size; 0: none).");
      w.sample("pkio_ndr_trial", "", static_cast<uint64_t>(current_index.load()));
      w.family("pkio_ndr_trial_frame_size_bytes", "gauge", "Its frame size.");
      w.sample("pkio_ndr_trial_frame_size_bytes", "", static_cast<uint64_t>(current_size.load()));
      w.family("pkio_ndr_trial_intended_packets_per_second", "gauge", "Its intended offered load.");
      w.sample("pkio_ndr_trial_intended_packets_per_second", "", current_rate.load());
    });
    std::fprintf(stderr, "pkio-ndr: metrics at %s\n", endpoint->url().c_str());
  }

  say(o, std::string("pkio-ndr ") + PKIO_VERSION + ": " + tx_port->placement() + "; receiving on " + ports.rx->name() +
             apps::format("; PDR %g, precision %g, trials of %g s, finals of %g s\n", o.pdr, o.precision, o.trial_s, o.final_s));
  std::vector<ndr::SizeResult> results;
  uint32_t flow_block = 0;
  const auto streams = static_cast<uint32_t>(o.traffic.streams.size());
  std::string error;
  for (uint32_t size : o.sizes) {
    if (apps::stop_requested()) break;
    ndr::SizeResult r;
    r.frame_size = size;
    auto ceiling = max_rate_for(o, size, link_mbps);
    if (!ceiling) return apps::fail(program, ceiling.error().message);
    r.max_rate_pps = *ceiling;
    gen::Options traffic = o.traffic;
    for (auto& st : traffic.streams) {
      st.size = gen::SizeSpec{};
      st.size.min = st.size.max = size;
    }
    ndr::SearchConfig sc;
    sc.max_rate_pps = r.max_rate_pps;
    sc.pdr = o.pdr;
    sc.precision = o.precision;
    sc.max_trials = o.max_trials;
    ndr::Search search(sc);
    const auto trial = [&](double rate, double seconds, const char* kind) -> bool {
      ndr::Trial t;
      t.index = static_cast<uint32_t>(r.trials.size() + 1);
      t.kind = kind;
      current_index = t.index;
      current_size = size;
      current_rate = rate;
      // Each trial its own flows (16 bits of them), so that late frames of one are not another's.
      const uint32_t first_flow = (flow_block++ * streams) % (65536 - streams);
      if (ndr::run_trial(ports, traffic, rate, seconds, first_flow, o.tolerance, t, error) != Status::success) return false;
      current_index = 0;
      if (!o.quiet) {
        if (o.progress_json) apps::print(ndr::trial_json(t).dump() + "\n");
        else apps::print(ndr::trial_line(t) + "\n");
      }
      r.trials.push_back(t);
      return true;
    };
    for (ndr::Search::Next next = search.next(); next.rate_pps > 0 && !apps::stop_requested(); next = search.next()) {
      if (!trial(next.rate_pps, next.final ? o.final_s : o.trial_s, next.final ? "final" : "search"))
        return apps::fail(program, error);
      search.record(r.trials.back());
    }
    r.ndr = search.ndr();
    r.pdr = search.pdr();
    // RFC 2544 26.2: latency at the throughput found, and (as TRex does) below it.
    if (o.latency && r.ndr.pps > 0)
      for (double share : {1.0, 0.9, 0.5}) {
        if (apps::stop_requested()) break;
        if (!trial(r.ndr.pps * share, o.trial_s, "latency")) return apps::fail(program, error);
      }
    // RFC 2544 26.3: the frame loss rate from the maximum down in 10 % steps.
    if (o.loss_curve)
      for (int step = 10; step >= 1 && !apps::stop_requested(); --step)
        if (!trial(r.max_rate_pps * step / 10.0, o.trial_s, "loss_curve")) return apps::fail(program, error);
    r.interrupted = apps::stop_requested().load();
    say(o, ndr::result_line(r, o.pdr) + "\n");
    results.push_back(std::move(r));
  }
  if (apps::stop_requested()) say(o, std::string("stopped by ") + apps::stop_signal_name() + ": the results are what was found so far\n");

  int code = apps::exit_status::ok;
  if (json_file) {
    nlohmann::json j;
    j["config"] = {{"port", tx_port->name()}, {"rx_port", ports.rx->name()}, {"sizes", o.sizes}, {"pdr", o.pdr},
                   {"precision", o.precision}, {"trial_seconds", o.trial_s}, {"final_seconds", o.final_s},
                   {"tolerance", o.tolerance}, {"batch", o.traffic.batch},
                   {"max_rate", o.max_rate.empty() ? nlohmann::json("line rate") : nlohmann::json(o.max_rate)}};
    j["results"] = nlohmann::json::array();
    for (const auto& r : results) j["results"].push_back(ndr::result_json(r));
    if (results.size() == 1) {  // one size: its result at the top level too
      for (const char* key : {"ndr", "pdr", "trials", "latency", "frame_size", "max_rate_pps", "loss_curve"})
        if (j["results"][0].contains(key)) j[key] = j["results"][0][key];
    }
    j["interrupted"] = apps::stop_requested().load();
    json_file->write(j.dump(2) + "\n");
    if (auto closed = json_file->close(); !closed) code = apps::fail(program, closed.error().message, apps::exit_status::output_failed);
  }
  if (csv_file) {
    std::string text = ndr::csv_header();
    for (const auto& r : results) text += ndr::csv_rows(r);
    csv_file->write(text);
    if (auto closed = csv_file->close(); !closed) code = apps::fail(program, closed.error().message, apps::exit_status::output_failed);
  }
  if (svg_file) {
    svg_file->write(ndr::search_svg(results, o.pdr));
    if (auto closed = svg_file->close(); !closed) code = apps::fail(program, closed.error().message, apps::exit_status::output_failed);
  }
  if (auto out = apps::stdout_result(); !out) code = apps::fail(program, out.error().message, apps::exit_status::output_failed);
  endpoint.reset();
  rx_port_own.reset();
  tx_port.reset();
  dpdk::eal_cleanup();
  return code;
}
