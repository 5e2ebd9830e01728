/// @file
/// Result: what a control-path call gives back, the value it made or why it could not, in one
/// style for every factory and setup call (the data path reports statuses and counters).
/// Built on tl::expected (Debian: libexpected-dev), C++20's stand-in for std::expected:
///
///     auto adapter = pkio::Adapter::create(characteristics, context);
///     if (!adapter) return report(adapter.error().message);   // one line, for people
///     (*adapter)->poll();
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

#include <pkio/status.h>

namespace pkio {

/// Why a control-path call failed: the NDIS status of the failure and one line for people
/// (no newline; it names what was asked for and why it could not be done).
struct Error {
  Status status = Status::failure;  ///< failure, invalid_data, closing, ...
  std::string message;              ///< one line
};

/// The value a control-path call made, or the Error saying why it made none.
template <typename T>
using Result = tl::expected<T, Error>;

/// A failed Result: `return failure_of(Status::failure, "port 3 has no TX queue 2");`.
[[nodiscard]] inline tl::unexpected<Error> failure_of(Status status, std::string message) {
  return tl::unexpected<Error>(Error{status, std::move(message)});
}

}  // namespace pkio
