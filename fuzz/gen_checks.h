// What the pkio-gen fuzz targets check once an input parsed: the one-line error rule, and
// that every stream's frames at its smallest and largest size are built with checksums that
// verify (what the generator would put on the wire).
#pragma once

#include <string>
#include <vector>

#include "check.h"
#include "frames.h"
#include "options.h"

namespace pkio::fuzz {

/// A refused input: exit status 2 and one line naming the problem.
inline void check_error_line(int exit_code, const std::string& error) {
  FUZZ_CHECK(exit_code == 2, "exit code %d", exit_code);
  FUZZ_CHECK(!error.empty(), "no error message");
  FUZZ_CHECK(error.find('\n') == std::string::npos, "error is not one line: %s", error.c_str());
}

/// Builds, stamps and inspects a frame of every stream at its extreme sizes.
inline void check_streams(const gen::Options& o) {
  FUZZ_CHECK(!o.streams.empty(), "no stream");
  std::vector<uint8_t> frame;
  for (const gen::StreamSpec& s : o.streams) {
    const gen::FrameLayout layout = gen::layout_of(s.ip, s.transport);
    const gen::HeaderValues values = gen::first_values(s);
    for (const uint32_t size : {s.size.min, s.size.max}) {
      FUZZ_CHECK(size >= layout.headers() && size <= 9018, "stream %s: size %u accepted",
                 s.name.c_str(), size);
      frame.assign(size, 0xEE);
      gen::build_frame(frame.data(), size, layout, values);
      const bool stamped = size >= layout.stamped();  // smaller frames go out without a stamp
      if (stamped) gen::stamp_frame(frame.data(), layout, 12345, 67890);
      const gen::FrameInfo info = gen::inspect_frame(frame.data(), size);
      FUZZ_CHECK(info.checksums_ok && info.ours == stamped && (!stamped || info.sequence == 12345),
                 "stream %s: a %u-byte frame does not verify", s.name.c_str(), size);
    }
  }
}

}  // namespace pkio::fuzz
