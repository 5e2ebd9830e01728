#include "validate.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace pkio::apps {

namespace {

tl::unexpected<Error> refuse(std::string_view what, std::string_view text, const std::string& allowed) {
  if (text.empty()) return failure_of(Status::invalid_data, std::string(what) + ": an empty value (" + allowed + ")");
  return failure_of(Status::invalid_data, std::string(what) + ": '" + printable(text) + "' is not " + allowed);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// digits [. digits] [e [+-] digits], or . digits: what parse_real takes.
bool decimal_shape(std::string_view t) {
  std::size_t i = 0, digits = 0;
  while (i < t.size() && is_digit(t[i])) ++i, ++digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && is_digit(t[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    std::size_t exponent = 0;
    while (i < t.size() && is_digit(t[i])) ++i, ++exponent;
    if (exponent == 0) return false;
  }
  return i == t.size();
}

}  // namespace

std::string one_line(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) {
      out.push_back(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", u);
      out += escaped;
    }
  }
  return out;
}

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (out.size() >= 120) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) {
      out.push_back(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", u);
      out += escaped;
    }
  }
  return out;
}

std::string number_text(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%.15g", v);
  return text;
}

Result<uint64_t> parse_whole(std::string_view what, std::string_view text, uint64_t lo, uint64_t hi) {
  const std::string allowed = "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (text.empty() || text.size() > 20) return refuse(what, text, allowed);
  uint64_t v = 0;
  for (const char c : text) {
    if (!is_digit(c)) return refuse(what, text, allowed);
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return refuse(what, text, allowed);  // past 2^64: not wrapped
    v = v * 10 + d;
  }
  if (v < lo || v > hi) return refuse(what, text, allowed);
  return v;
}

Result<double> parse_real(std::string_view what, std::string_view text, double lo, double hi) {
  const std::string allowed = "a number from " + number_text(lo) + " to " + number_text(hi);
  if (!decimal_shape(text)) return refuse(what, text, allowed);
  const std::string copy(text);
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(v) || errno == ERANGE || v < lo || v > hi)
    return refuse(what, text, allowed);
  return v;
}

Result<double> parse_positive_real(std::string_view what, std::string_view text, double hi) {
  const std::string allowed = "a number above 0, at most " + number_text(hi);
  auto v = parse_real(what, text, 0, hi);
  if (!v || *v <= 0) return refuse(what, text, allowed);
  return v;
}

Result<std::vector<uint64_t>> parse_whole_list(std::string_view what, std::string_view text, uint64_t lo,
                                               uint64_t hi) {
  const std::string allowed = "a list of whole numbers from " + std::to_string(lo) + " to " + std::to_string(hi) +
                              ", separated by commas";
  if (text.empty()) return refuse(what, text, allowed);
  std::vector<uint64_t> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    auto v = parse_whole(what, item, lo, hi);
    if (!v) return refuse(what, text, allowed + (item.empty() ? " (an item is empty)" : ""));
    out.push_back(*v);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<std::vector<std::string>> parse_word_list(std::string_view what, std::string_view text,
                                                 std::initializer_list<std::string_view> allowed) {
  std::string words;
  for (const auto w : allowed) words += (words.empty() ? "" : ", ") + std::string(w);
  const std::string explain = "a list of " + words + " (separated by commas, each once)";
  if (text.empty()) return refuse(what, text, explain);
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string item(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    bool known = false;
    for (const auto w : allowed) known = known || item == w;
    if (!known || !seen.insert(item).second) return refuse(what, text, explain);
    out.push_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace pkio::apps
