// Fuzz target: pkio-gen's command line (CLI11 and pkio-gen's own value parsers: sizes, IMIX,
// rates, field ranges, pacing). Input: one argument per line, \\xNN for any byte. Either it is refused with exit
// status 2 and one line, or the streams it describes build frames that verify.
#include <cstdint>
#include <string>
#include <vector>

#include "../gen_checks.h"

namespace {
int hex_digit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A newline ends an argument; \xNN inside one is that byte, so arguments can carry
  // newlines, escapes and other control characters too.
  std::vector<std::string> args;
  std::string current;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      args.push_back(current);
      current.clear();
    } else if (data[i] == '\\' && i + 3 < size && data[i + 1] == 'x' && hex_digit(data[i + 2]) >= 0 &&
               hex_digit(data[i + 3]) >= 0) {
      current.push_back(static_cast<char>(hex_digit(data[i + 2]) * 16 + hex_digit(data[i + 3])));
      i += 3;
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (!current.empty()) args.push_back(current);
  int exit_code = -1;
  std::string error, help;
  const auto options = pkio::gen::parse_options(args, exit_code, error, help);
  if (!options) {
    if (exit_code == 0) FUZZ_CHECK(!help.empty() || error.empty(), "exit 0 without help");
    else pkio::fuzz::check_error_line(exit_code, error);
    return 0;
  }
  pkio::fuzz::check_streams(*options);
  return 0;
}
