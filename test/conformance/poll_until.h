// Polls an adapter until a condition holds or a deadline passes (tests only).
#pragma once

#include <chrono>

#include <pkio/adapter.h>

namespace pkio::testing_support {

template <typename Pred>
bool poll_until(Adapter& a, Pred pred, int ms = 2000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    a.poll();
  }
  return true;
}

}  // namespace pkio::testing_support
