/// @file
/// Bringing up DPDK's Environment Abstraction Layer from `app [EAL args] -- [app args]`.
///
/// Threading: call once, from the main thread, before any other pkio DPDK call.
#pragma once

#include <string>
#include <vector>

#include <pkio/result.h>

namespace pkio::dpdk {

/// EAL arguments that need no hardware, hugepages or PCI access: one net_null port.
/// Used when the command line gives no EAL arguments.
[[nodiscard]] std::vector<std::string> default_eal_args();

/// Splits `argv` at the first "--": EAL arguments before (program name first), the
/// application's after. With no "--", everything is the application's and `eal` is the
/// program name followed by default_eal_args().
void split_args(int argc, char** argv, std::vector<std::string>& eal, std::vector<std::string>& app);

/// rte_eal_init with `args` (args[0] is the program name). On failure the error is one line
/// with DPDK's own reason (rte_errno and the EAL's last error message). A second call is a
/// no-op that succeeds. What EAL logs during the call reaches stderr as usual.
[[nodiscard]] Result<void> eal_init(const std::vector<std::string>& args);

/// True once eal_init has succeeded (and eal_cleanup has not run).
[[nodiscard]] bool eal_running() noexcept;

/// Closes every Port still open (Port::close: their adapters halt, every packet completes),
/// then rte_eal_cleanup, if eal_init succeeded. Ports, miniports and adapters may be destroyed
/// afterwards.
void eal_cleanup();

}  // namespace pkio::dpdk
