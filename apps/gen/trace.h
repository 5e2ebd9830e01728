// pkio-gen's pcap replay source: the frames of a capture file (libpcap) and their times.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace pkio::gen {

/// The frames of a pcap file, back to back in `bytes`, with their capture times.
struct Trace {
  struct Frame {
    uint64_t offset;   ///< into bytes
    uint32_t length;   ///< bytes on the wire (without FCS)
    uint64_t time_ns;  ///< capture time
  };
  std::vector<uint8_t> bytes;
  std::vector<Frame> frames;
  /// Gaps between consecutive frames in ns; the last wraps to the first with the mean gap.
  [[nodiscard]] std::vector<double> gaps_ns() const;
};

/// Largest capture replayed (its frames are copied into DPDK memory too).
inline constexpr std::size_t max_trace_bytes = std::size_t{1} << 30;

/// Reads an Ethernet pcap file (microsecond or nanosecond timestamps): a regular file of at
/// most max_trace_bytes. False with a one-line `error` for a missing, unreadable or not regular
/// file, another link type, a frame cut short by the capture's snap length or longer than
/// `max_frame`, or a file without frames.
bool load_trace(const std::string& path, uint32_t max_frame, Trace& out, std::string& error);

/// As load_trace, from an open stream (closed before returning); `path` names it in errors.
bool load_trace_stream(std::FILE* file, const std::string& path, uint32_t max_frame, Trace& out,
                       std::string& error);

}  // namespace pkio::gen
