#include <pkio/dpdk/eal.h>

#include <pkio/dpdk/port.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

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

/// The lines of what EAL printed that say why it failed (the first such line, and the last
/// one if it differs), joined into one line, with the program name getopt puts first dropped.
std::string reason_from_output(const std::string& output, const std::string& program) {
  static const char* const words[] = {"annot", "rror", "FATAL", "nvalid", "ailed", "nrecognized", "requires",
                                      "not ", "No ", "denied", "busy", "missing"};
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < output.size()) {
    std::size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == ' ' || line[0] == '\t') continue;  // EAL's usage text
    if (!program.empty() && line.rfind(program + ": ", 0) == 0) line = line.substr(program.size() + 2);
    if (const auto fatal = line.find("FATAL: "); fatal != std::string::npos) line.erase(fatal, 7);
    for (const char* w : words)
      if (line.find(w) != std::string::npos) {
        if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
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

/// Everything written to stdout and stderr while it lives (EAL's log, getopt's complaints and
/// EAL's usage text), kept in a temporary file, so that a failure can be told in one line.
class CapturedOutput {
 public:
  CapturedOutput() noexcept {
    file_ = std::tmpfile();
    if (file_ == nullptr) return;
    std::fflush(stdout);
    std::fflush(stderr);
    saved_out_ = dup(STDOUT_FILENO);
    saved_err_ = dup(STDERR_FILENO);
    dup2(fileno(file_), STDOUT_FILENO);
    dup2(fileno(file_), STDERR_FILENO);
  }
  /// Restores stdout and stderr and returns what was written meanwhile.
  std::string finish() noexcept {
    if (file_ == nullptr) return "";
    std::fflush(stdout);
    std::fflush(stderr);
    dup2(saved_out_, STDOUT_FILENO);
    dup2(saved_err_, STDERR_FILENO);
    close(saved_out_);
    close(saved_err_);
    std::string text;
    std::rewind(file_);
    char chunk[4096];
    std::size_t got;
    while ((got = std::fread(chunk, 1, sizeof chunk, file_)) > 0 && text.size() < (1u << 20)) text.append(chunk, got);
    std::fclose(file_);
    file_ = nullptr;
    return text;
  }
  ~CapturedOutput() { (void)finish(); }
  CapturedOutput(const CapturedOutput&) = delete;
  CapturedOutput& operator=(const CapturedOutput&) = delete;

 private:
  std::FILE* file_ = nullptr;
  int saved_out_ = -1, saved_err_ = -1;
};

}  // namespace

Result<void> eal_init(const std::vector<std::string>& args) {
  if (eal_ready) return {};
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  CapturedOutput captured;
  rte_errno = 0;
  const int rc = rte_eal_init(static_cast<int>(copy.size()), argv.data());
  const int why = rte_errno;
  const std::string output = captured.finish();
  if (rc < 0) {
    std::string message = "EAL initialisation failed";
    const std::string reason = reason_from_output(output, args.empty() ? "" : args[0]);
    if (!reason.empty()) message += ": " + reason;
    else if (why != 0) message += std::string(": ") + rte_strerror(why);
    message += " (EAL arguments:";
    for (size_t i = 1; i < args.size(); ++i) message += " " + args[i];
    message += ")";
    return failure_of(Status::failure, message);
  }
  std::fputs(output.c_str(), stderr);  // what EAL said while it started, as it would have
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
