// main() for test binaries that need DPDK: starts EAL once with virtual devices only
// (no hugepages, no PCI), runs the tests, cleans up.
#include <gtest/gtest.h>
#include <rte_eal.h>

#include <cstdio>
#include <string>
#include <vector>

#include <pkio/dpdk/eal.h>

namespace pkio::testing_support {
std::string pcap_path;  // where the net_pcap test port writes
}

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  pkio::testing_support::pcap_path = "/tmp/pkio_test_" + std::to_string(getpid()) + ".pcap";
  std::vector<std::string> eal = {argv[0], "--no-huge", "--no-shconf", "-m", "256", "--no-pci",
                                  "-l", "0", "--log-level=lib.eal:error",
                                  "--vdev=net_null0", "--vdev=net_null1",
                                  "--vdev=net_pcap0,tx_pcap=" + pkio::testing_support::pcap_path};
  if (auto up = pkio::dpdk::eal_init(eal); !up) {
    std::fprintf(stderr, "%s\n", up.error().message.c_str());
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  std::remove(pkio::testing_support::pcap_path.c_str());
  pkio::dpdk::eal_cleanup();
  return rc;
}
