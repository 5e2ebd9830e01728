// main() body for the Google Benchmark programs that need DPDK: EAL without hugepages or PCI
// plus the given virtual devices, the benchmarks, then EAL cleanup.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <pkio/dpdk/eal.h>

namespace pkio::bench {

/// `before_cleanup` releases what the benchmarks kept open across cases (ports): after EAL
/// cleanup, a port closed by a static destructor would crash the exit.
inline int run_benchmarks_with_eal(int argc, char** argv, const std::vector<std::string>& vdevs,
                                   const std::function<void()>& before_cleanup = {}) {
  benchmark::Initialize(&argc, argv);
  std::vector<std::string> eal = {argv[0], "--no-huge", "--no-shconf", "-m", "512", "--no-pci",
                                  "-l", "0", "--log-level=lib.eal:error"};
  for (const std::string& vdev : vdevs) eal.push_back("--vdev=" + vdev);
  if (auto up = dpdk::eal_init(eal); !up) {
    std::fprintf(stderr, "%s\n", up.error().message.c_str());
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (before_cleanup) before_cleanup();
  dpdk::eal_cleanup();
  return 0;
}

}  // namespace pkio::bench
