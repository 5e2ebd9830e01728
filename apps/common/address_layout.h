// Fixed addresses for measurements. Where code and data land (address space layout
// randomisation) moves a small send path's cost by a percent or so from one process to the
// next: branch and cache aliasing change with the addresses. Resampling inside one run cannot
// see it, so two runs of pkio-maxsend could each be sure of opposite answers. The measuring
// apps therefore run with randomisation off, as benchmarking guides advise (LLVM's
// "Benchmarking tips"): they re-execute themselves once with ADDR_NO_RANDOMIZE, unless told
// --aslr.
#pragma once

namespace pkio::apps {

/// How the process's addresses are laid out, for the report.
enum class AddressLayout {
  fixed,       ///< randomisation is off (this process re-executed itself, or was started so)
  randomised,  ///< kept on (--aslr, under valgrind, or the kernel refused to turn it off)
};

/// First thing in main: unless `--aslr` is among the arguments, randomisation is already off,
/// or the process runs under valgrind (whose tools would lose the re-executed process),
/// turns randomisation off and re-executes the program with the same arguments, SIGINT,
/// SIGTERM and SIGHUP blocked until install_stop_signals. Returns only if it did not
/// re-execute, with the layout this process has.
AddressLayout fix_address_layout(int argc, char** argv) noexcept;

/// The --aslr flag's help text.
inline constexpr const char* aslr_help =
    "keep address space layout randomisation on (by default the app re-executes itself once with it off, so "
    "that one run's figures hold for the next)";

/// "fixed" or "randomised", the report's words.
const char* address_layout_name(AddressLayout layout) noexcept;

}  // namespace pkio::apps
