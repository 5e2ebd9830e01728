// The apps' one validation layer: every number, list and word a user gives, on the command
// line or in a profile, is checked here, the same way everywhere. A refusal is one line that
// names the option (or FILE:LINE: key), the value as given (control characters escaped) and
// what is allowed. CLI11's own conversions are not used for values: they let "-1" become
// 2^64-1 and "nan" through.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <pkio/result.h>

namespace pkio::apps {

/// `text` as it may be echoed inside a one-line message: control characters, DEL and bytes
/// above 0x7E as \xNN; longer than 120 characters, cut with "...".
[[nodiscard]] std::string printable(std::string_view text);

/// `text` on one line: control characters, DEL and bytes above 0x7E as \xNN (nothing cut).
[[nodiscard]] std::string one_line(std::string_view text);

/// A whole number from `lo` to `hi` in decimal, nothing else: no sign, space, fraction or
/// exponent; a value past 2^64 is refused, not wrapped. `what` names the option.
[[nodiscard]] Result<uint64_t> parse_whole(std::string_view what, std::string_view text, uint64_t lo, uint64_t hi);

/// A finite real number from `lo` to `hi`: digits with an optional fraction and exponent (no
/// nan, inf, hexadecimal or overflow to infinity).
[[nodiscard]] Result<double> parse_real(std::string_view what, std::string_view text, double lo, double hi);

/// As parse_real, for a range whose low end is excluded ("more than 0").
[[nodiscard]] Result<double> parse_positive_real(std::string_view what, std::string_view text, double hi);

/// "a,b,c" of whole numbers from `lo` to `hi`: at least one, no empty item (so no trailing
/// comma).
[[nodiscard]] Result<std::vector<uint64_t>> parse_whole_list(std::string_view what, std::string_view text,
                                                            uint64_t lo, uint64_t hi);

/// "a,b" of words from `allowed`, each once at most.
[[nodiscard]] Result<std::vector<std::string>> parse_word_list(std::string_view what, std::string_view text,
                                                              std::initializer_list<std::string_view> allowed);

/// The shortest text for `v` ("0.05", "10000000").
[[nodiscard]] std::string number_text(double v);

}  // namespace pkio::apps
