#include <pkio/dpdk/eal.h>

#include <pkio/dpdk/port.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pkio::dpdk {

namespace {
bool eal_ready = false;
}

std::vector<std::string> default_eal_args() {
  return {"--no-huge", "--no-shconf", "-m", "256", "--no-pci", "--vdev=net_null0",
          "--log-level=lib.eal:error"};
}

void split_args(int argc, char** argv, std::vector<std::string>& eal, std::vector<std::string>& app) {
  eal.clear();
  app.clear();
  const std::string program = argc > 0 ? argv[0] : "pkio";
  int dashes = -1;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--") == 0) {
      dashes = i;
      break;
    }
  eal.push_back(program);
  if (dashes < 0) {
    for (auto& a : default_eal_args()) eal.push_back(a);
    for (int i = 1; i < argc; ++i) app.emplace_back(argv[i]);
    return;
  }
  for (int i = 1; i < dashes; ++i) eal.emplace_back(argv[i]);
  if (eal.size() == 1)  // "-- options" alone: still the no-hardware default
    for (auto& a : default_eal_args()) eal.push_back(a);
  for (int i = dashes + 1; i < argc; ++i) app.emplace_back(argv[i]);
}

namespace {

/// The lines of what EAL logged that say why it failed (the first such line, and the last one
/// if it differs), joined into one line.
std::string reason_from_log(const std::string& log) {
  static const char* const words[] = {"annot", "rror", "FATAL", "nvalid", "ailed", "nrecognized",
                                      "not ", "No ", "denied", "busy"};
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    std::string line = log.substr(start, end - start);
    start = end + 1;
    for (const char* w : words)
      if (line.find(w) != std::string::npos) {
        lines.push_back(line);
        break;
      }
  }
  if (lines.empty()) return "";
  std::string out = lines.front();
  if (lines.size() > 1 && lines.back() != lines.front()) out += "; " + lines.back();
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return out;
}

}  // namespace

Result<void> eal_init(const std::vector<std::string>& args) {
  if (eal_ready) return {};
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  // What EAL logs while it starts is kept, so that a failure can name DPDK's own reason; it
  // still reaches stderr afterwards.
  char* logged = nullptr;
  std::size_t logged_size = 0;
  std::FILE* capture = open_memstream(&logged, &logged_size);
  if (capture != nullptr) rte_openlog_stream(capture);
  rte_errno = 0;
  const int rc = rte_eal_init(static_cast<int>(copy.size()), argv.data());
  const int why = rte_errno;
  std::string log;
  if (capture != nullptr) {
    rte_openlog_stream(nullptr);
    std::fclose(capture);
    log.assign(logged, logged_size);
    std::free(logged);
    std::fputs(log.c_str(), stderr);
  }
  if (rc < 0) {
    std::string message = "EAL initialisation failed";
    if (why != 0) message += std::string(": ") + rte_strerror(why);
    const std::string reason = reason_from_log(log);
    if (!reason.empty()) message += " (" + reason + ")";
    message += "; EAL arguments:";
    for (size_t i = 1; i < args.size(); ++i) message += " " + args[i];
    return failure_of(Status::failure, message);
  }
  eal_ready = true;
  return {};
}

bool eal_running() noexcept { return eal_ready; }

void eal_cleanup() {
  if (!eal_ready) return;
  close_all_ports();  // their adapters halt first: no packet is left in flight in a dead EAL
  rte_eal_cleanup();
  eal_ready = false;
}

}  // namespace pkio::dpdk
