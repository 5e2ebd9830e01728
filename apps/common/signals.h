// How the apps are stopped: SIGINT, SIGTERM and SIGHUP set a flag that every loop of the run
// watches (sending stops, everything in flight completes, the summary is written); SIGPIPE is
// ignored, so a closed pipe is a write error the app reports instead of a silent death.
// Installed first thing in main, so a signal at any moment, even while EAL starts, ends the
// same way.
#pragma once

#include <atomic>

namespace pkio::apps {

/// Installs the handlers (once; later calls do nothing).
void install_stop_signals() noexcept;

/// Set once a stop signal arrived.
[[nodiscard]] const std::atomic<bool>& stop_requested() noexcept;

/// How many stop signals arrived (a second one cuts short what is left: a linger, a wait).
[[nodiscard]] unsigned stop_signals_seen() noexcept;

/// The first stop signal's number, 0 if none came.
[[nodiscard]] int stop_signal() noexcept;

/// "SIGINT", "SIGTERM", "SIGHUP" for stop_signal(), or "".
[[nodiscard]] const char* stop_signal_name() noexcept;

}  // namespace pkio::apps
