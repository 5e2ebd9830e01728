// The metrics endpoint: cpp-httplib (Debian's libcpp-httplib-dev) serving GET /metrics on a
// thread of its own. Timeouts are short, so a client that connects and never sends, or never
// reads, holds one of the server's threads for a second and nothing else.
#include <pkio/metrics.h>

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <httplib.h>

namespace pkio::metrics {

struct Endpoint::Server {
  httplib::Server http;
  std::thread thread;
  std::atomic<uint64_t> scrapes{0};
};

Result<ListenAddress> parse_listen_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return failure_of(Status::invalid_data, "'" + text + "' is not ADDR:PORT (e.g. 127.0.0.1:9101, *:9101)");
  ListenAddress a;
  a.host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  if (a.host == "localhost") a.host = "127.0.0.1";
  if (a.host == "*") a.host = "0.0.0.0";
  in_addr unused{};
  if (inet_pton(AF_INET, a.host.c_str(), &unused) != 1)
    return failure_of(Status::invalid_data, "'" + text.substr(0, colon) + "' is not an IPv4 address, localhost or *");
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(port) > 65535)
    return failure_of(Status::invalid_data, "'" + port + "' is not a port number (0-65535)");
  a.port = static_cast<uint16_t>(std::stoul(port));
  return a;
}

Result<std::unique_ptr<Endpoint>> Endpoint::start(const std::string& address) {
  auto where = parse_listen_address(address);
  if (!where) return tl::unexpected(where.error());
  std::unique_ptr<Endpoint> e(new Endpoint());
  e->server_ = std::make_unique<Server>();
  httplib::Server& http = e->server_->http;
  http.set_read_timeout(1, 0);
  http.set_write_timeout(1, 0);
  http.set_keep_alive_timeout(1);
  Endpoint* self = e.get();
  http.Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
    res.set_content(self->render(), "text/plain; version=0.0.4; charset=utf-8");
    self->server_->scrapes.fetch_add(1, std::memory_order_relaxed);
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("pkio metrics: GET /metrics\n", "text/plain; charset=utf-8");
  });
  int port = where->port;
  if (where->port == 0) {
    port = http.bind_to_any_port(where->host);
    if (port < 0) return failure_of(Status::failure, "cannot listen on " + where->host + ": " + std::strerror(errno));
  } else if (!http.bind_to_port(where->host, where->port)) {
    return failure_of(Status::failure, "cannot listen on " + address + ": " +
                                           (errno == EADDRINUSE ? std::string("the port is in use") : std::strerror(errno)));
  }
  e->port_ = static_cast<uint16_t>(port);
  e->host_ = where->host;
  e->server_->thread = std::thread([self] { self->server_->http.listen_after_bind(); });
  return e;
}

Endpoint::~Endpoint() {
  if (server_ == nullptr) return;
  server_->http.stop();
  if (server_->thread.joinable()) server_->thread.join();
}

void Endpoint::add(const Adapter& adapter, AdapterLabels labels) {
  std::lock_guard lock(mutex_);
  adapters_.emplace_back(&adapter, std::move(labels));
}

void Endpoint::remove(const Adapter& adapter) {
  std::lock_guard lock(mutex_);
  std::erase_if(adapters_, [&](const auto& entry) { return entry.first == &adapter; });
}

uint64_t Endpoint::add_source(std::function<void(std::string&)> write) {
  std::lock_guard lock(mutex_);
  sources_.emplace_back(next_source_, std::move(write));
  return next_source_++;
}

void Endpoint::remove_source(uint64_t id) {
  std::lock_guard lock(mutex_);
  std::erase_if(sources_, [&](const auto& entry) { return entry.first == id; });
}

std::string Endpoint::render() const {
  std::string out;
  std::lock_guard lock(mutex_);  // the sources' list only; the send path never takes it
  write_adapters(out, adapters_);
  for (const auto& [id, write] : sources_) write(out);
  return out;
}

uint64_t Endpoint::scrapes() const noexcept {
  return server_ ? server_->scrapes.load(std::memory_order_relaxed) : 0;
}

}  // namespace pkio::metrics
