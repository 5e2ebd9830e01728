#include <pkio/dpdk/eal.h>

#include <pkio/dpdk/port.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>

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

Status eal_init(const std::vector<std::string>& args, std::string* error) {
  if (eal_ready) return Status::success;
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = rte_eal_init(static_cast<int>(copy.size()), argv.data());
  if (rc < 0) {
    if (error) {
      *error = "EAL initialisation failed: ";
      *error += rte_strerror(rte_errno);
      *error += " (EAL arguments:";
      for (size_t i = 1; i < args.size(); ++i) *error += " " + args[i];
      *error += ")";
    }
    return Status::failure;
  }
  eal_ready = true;
  return Status::success;
}

void eal_cleanup() {
  if (!eal_ready) return;
  close_all_ports();  // their adapters halt first: no packet is left in flight in a dead EAL
  rte_eal_cleanup();
  eal_ready = false;
}

}  // namespace pkio::dpdk
