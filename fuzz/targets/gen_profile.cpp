// Fuzz target: pkio-gen's traffic profile reader (TOML through toml++, then pkio-gen's
// tables and values). Input: the text of a profile. Either it is refused with one line
// naming the file, or the streams it describes build frames that verify.
#include <cstdint>
#include <string>
#include <string_view>

#include "../gen_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  pkio::gen::Options options;
  std::string error;
  if (!pkio::gen::load_profile_text(text, "fuzz.toml", options, error)) {
    pkio::fuzz::check_error_line(2, error);
    FUZZ_CHECK(error.find("fuzz.toml") != std::string::npos, "error does not name the file: %s", error.c_str());
    return 0;
  }
  if (!pkio::gen::check_options(options, error)) {
    pkio::fuzz::check_error_line(2, error);
    return 0;
  }
  pkio::fuzz::check_streams(options);
  return 0;
}
