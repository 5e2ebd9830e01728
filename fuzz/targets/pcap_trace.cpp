// Fuzz target: pkio-gen's pcap replay reader (libpcap, then pkio-gen's checks). Input: the
// bytes of a capture file. Either it is refused with one line, or every frame it kept lies
// inside the bytes read and has a length the port takes.
#include <cstdint>
#include <cstdio>
#include <string>

#include "../check.h"
#include "trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr uint32_t max_frame = 1514;
  // fmemopen refuses an empty buffer; an empty file is read from /dev/null instead.
  std::FILE* file = size > 0 ? fmemopen(const_cast<uint8_t*>(data), size, "rb") : std::fopen("/dev/null", "rb");
  FUZZ_CHECK(file != nullptr, "cannot open the input as a stream");
  pkio::gen::Trace trace;
  std::string error;
  if (!pkio::gen::load_trace_stream(file, "fuzz.pcap", max_frame, trace, error)) {
    FUZZ_CHECK(!error.empty() && error.find('\n') == std::string::npos, "bad error: '%s'", error.c_str());
    return 0;
  }
  FUZZ_CHECK(!trace.frames.empty(), "accepted a capture without frames");
  uint64_t expected_offset = 0;
  for (const auto& f : trace.frames) {
    FUZZ_CHECK(f.length >= 1 && f.length <= max_frame, "frame of %u bytes kept", f.length);
    FUZZ_CHECK(f.offset == expected_offset, "frames not back to back");
    expected_offset += f.length;
  }
  FUZZ_CHECK(expected_offset == trace.bytes.size(), "bytes and frames disagree");
  FUZZ_CHECK(trace.gaps_ns().size() == trace.frames.size(), "one gap per frame");
  return 0;
}
