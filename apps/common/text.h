// Small text helpers shared by the apps: printf-style formatting into a std::string, and
// parsing comma-separated number lists from the command line.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace pkio::apps {

/// snprintf into a std::string (lines and paragraphs of reports; at most 1023 characters).
template <typename... Args>
std::string format(const char* fmt, Args... args) {
  char text[1024];
  std::snprintf(text, sizeof text, fmt, args...);
  return text;
}

/// Parses "a,b,c" into whole numbers from lo to hi. False (and `out` unspecified) if any item
/// is empty, not a whole number, or out of range, or if the list is empty.
inline bool parse_number_list(const std::string& text, std::vector<uint32_t>& out, uint32_t lo, uint32_t hi) {
  out.clear();
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(item.c_str(), &end, 10);
    if (item.empty() || item[0] == '-' || *end != '\0' || v < lo || v > hi) return false;
    out.push_back(static_cast<uint32_t>(v));
  }
  return !out.empty();
}

}  // namespace pkio::apps
