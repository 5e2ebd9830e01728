/// @file
/// Live metrics: adapters' counters in the Prometheus text exposition format (version 0.0.4,
/// which OpenMetrics scrapers read too), and a small HTTP endpoint that serves them at
/// /metrics. Off unless an embedder starts one.
///
/// Reading is what counters() already allows any thread: relaxed loads of counters the
/// worker writes anyway. The send path never sees the endpoint: no lock, no extra store,
/// no shared cache line. The endpoint's own lock guards only its list of sources, between
/// the threads that add or remove them and the one scrape being rendered.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pkio/adapter.h>
#include <pkio/latency_histogram.h>
#include <pkio/result.h>

namespace pkio::metrics {

/// The labels that tell one adapter's series from another's.
struct AdapterLabels {
  std::string adapter;  ///< a name the user recognises (e.g. "gen.q0", "net_null0.q0")
  std::string port;     ///< the DPDK port, by number or name
  uint16_t queue = 0;   ///< its TX queue
};

/// Writes one metric family: `# HELP`, `# TYPE`, then samples. Names get the `pkio_` prefix
/// from the caller; label values are escaped here.
class Writer {
 public:
  /// Appends to `out`.
  explicit Writer(std::string& out) : out_(out) {}
  /// Starts a family: type is counter, gauge or histogram.
  void family(const std::string& name, const char* type, const char* help);
  /// One sample line: `name{labels} value`. `labels`: a rendered label set (see labels()).
  void sample(const std::string& name, const std::string& labels, double value);
  /// The same with an exact integer value (counters).
  void sample(const std::string& name, const std::string& labels, uint64_t value);
  /// Renders `k="v",...` from pairs, escaping backslash, quote and newline in the values.
  static std::string labels(std::initializer_list<std::pair<const char*, std::string>> pairs);

 private:
  std::string& out_;
};

/// A LatencyHistogram (in cycles) as a Prometheus histogram in seconds: its own log-linear
/// buckets from 16 cycles to 2^36 (cumulative `_bucket{le}`, `_sum`, `_count`), the same
/// `le` values at every scrape. The family line is the caller's.
void write_latency(Writer& w, const std::string& name, const std::string& labels, const LatencyHistogram& h);

/// Appends every adapter family for `adapters` (each with its labels) to `out`: submitted,
/// rejected, completed by status, in flight, miniport calls and packets, resources events,
/// requeues, resets, violations by kind, the batch-size distribution and the
/// submit-to-completion latency, both as histograms.
void write_adapters(std::string& out, const std::vector<std::pair<const Adapter*, AdapterLabels>>& adapters);

/// Where an Endpoint listens.
struct ListenAddress {
  std::string host;   ///< an IPv4 address ("0.0.0.0": every address)
  uint16_t port = 0;  ///< 0: any free port
};
/// Parses "ADDR:PORT": ADDR an IPv4 address, "localhost" or "*" (every address), PORT
/// 0-65535. failure with a one-line message otherwise.
Result<ListenAddress> parse_listen_address(const std::string& text);

/// An HTTP endpoint serving GET /metrics from its own thread.
class Endpoint {
 public:
  /// Binds to `address` (parse_listen_address) and starts serving; failure if the text is not
  /// an address or the port cannot be bound (in use, no permission).
  static Result<std::unique_ptr<Endpoint>> start(const std::string& address);
  ~Endpoint();  ///< stops serving and joins its thread
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  /// Adds an adapter's series; remove it before the adapter is destroyed. Any thread.
  void add(const Adapter& adapter, AdapterLabels labels);
  /// Takes an adapter's series off; from its return no scrape reads the adapter.
  void remove(const Adapter& adapter);
  /// Adds families of the embedder's own (a generator's streams, a search's trial), written
  /// at every scrape after the adapters'; the function must only read what is safe to read
  /// from another thread. Returns an id for remove_source.
  uint64_t add_source(std::function<void(std::string&)> write);
  /// Takes a source off; from its return its function is not called again.
  void remove_source(uint64_t id);

  /// The text a scrape gets now.
  [[nodiscard]] std::string render() const;
  /// The port it listens on (the one chosen, if 0 was asked for).
  [[nodiscard]] uint16_t port() const noexcept { return port_; }
  /// Where to scrape it: "http://HOST:PORT/metrics" (the port chosen, if 0 was asked for).
  [[nodiscard]] std::string url() const { return "http://" + host_ + ":" + std::to_string(port_) + "/metrics"; }
  /// Scrapes served so far.
  [[nodiscard]] uint64_t scrapes() const noexcept;

 private:
  struct Server;
  Endpoint() = default;
  mutable std::mutex mutex_;
  std::vector<std::pair<const Adapter*, AdapterLabels>> adapters_;
  std::vector<std::pair<uint64_t, std::function<void(std::string&)>>> sources_;
  uint64_t next_source_ = 1;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::string host_;
};

}  // namespace pkio::metrics
