#include "address_layout.h"

#include <pthread.h>
#include <sys/personality.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace pkio::apps {

namespace {

constexpr const char* reexec_mark = "PKIO_FIXED_LAYOUT";

bool randomisation_off() noexcept {
  const int current = personality(0xffffffff);
  if (current != -1 && (current & ADDR_NO_RANDOMIZE) != 0) return true;
  std::ifstream sysctl("/proc/sys/kernel/randomize_va_space");
  int level = -1;
  return sysctl >> level && level == 0;
}

bool under_valgrind() noexcept {
  const char* preload = std::getenv("LD_PRELOAD");
  return preload != nullptr && std::strstr(preload, "vgpreload") != nullptr;
}

}  // namespace

AddressLayout fix_address_layout(int argc, char** argv) noexcept {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--aslr") == 0) return AddressLayout::randomised;
  if (randomisation_off()) return AddressLayout::fixed;
  // Once only: if the kernel kept randomising after the flag was set, do not loop.
  if (std::getenv(reexec_mark) != nullptr || under_valgrind()) return AddressLayout::randomised;
  const int current = personality(0xffffffff);
  if (current == -1 || personality(static_cast<unsigned long>(current) | ADDR_NO_RANDOMIZE) == -1)
    return AddressLayout::randomised;
  // A stop signal sent while the new image loads waits, blocked (the mask and pending
  // signals survive exec), until install_stop_signals unblocks it under its handlers.
  sigset_t stops, before;
  sigemptyset(&stops);
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stops, s);
  pthread_sigmask(SIG_BLOCK, &stops, &before);
  setenv(reexec_mark, "1", 1);
  execv("/proc/self/exe", argv);
  // Still here: /proc is not mounted, or exec is not allowed. Carry on as we are.
  personality(static_cast<unsigned long>(current));
  unsetenv(reexec_mark);
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  return AddressLayout::randomised;
}

const char* address_layout_name(AddressLayout layout) noexcept {
  return layout == AddressLayout::fixed ? "fixed" : "randomised";
}

}  // namespace pkio::apps
