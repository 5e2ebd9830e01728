#include "trace.h"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstring>

#include "files.h"

namespace pkio::gen {

std::vector<double> Trace::gaps_ns() const {
  std::vector<double> gaps(frames.size(), 0);
  if (frames.size() < 2) return gaps;
  for (size_t i = 0; i + 1 < frames.size(); ++i)
    gaps[i] = frames[i + 1].time_ns >= frames[i].time_ns ? static_cast<double>(frames[i + 1].time_ns - frames[i].time_ns) : 0;
  const double span = frames.back().time_ns >= frames.front().time_ns
                          ? static_cast<double>(frames.back().time_ns - frames.front().time_ns) : 0;
  gaps.back() = span / static_cast<double>(frames.size() - 1);  // between one pass and the next
  return gaps;
}

namespace {

bool read_trace(pcap_t* p, const std::string& path, uint32_t max_frame, Trace& out, std::string& error);

}  // namespace

bool load_trace(const std::string& path, uint32_t max_frame, Trace& out, std::string& error) {
  // Read whole first, as a regular file of bounded size: libpcap would wait on a FIFO.
  auto bytes = apps::read_input_file("--pcap", path, max_trace_bytes);
  if (!bytes) {
    error = bytes.error().message;
    return false;
  }
  if (bytes->empty()) {
    error = "--pcap " + path + ": an empty file";
    return false;
  }
  std::FILE* file = fmemopen(bytes->data(), bytes->size(), "rb");
  if (file == nullptr) {
    error = "--pcap " + path + ": " + std::strerror(errno);
    return false;
  }
  return load_trace_stream(file, path, max_frame, out, error);
}

bool load_trace_stream(std::FILE* file, const std::string& path, uint32_t max_frame, Trace& out,
                       std::string& error) {
  char pcap_error[PCAP_ERRBUF_SIZE] = "";
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, pcap_error);
  if (p == nullptr) {
    std::fclose(file);  // libpcap owns the stream only once it opened it
    error = "cannot read pcap file " + path + ": " + pcap_error;
    return false;
  }
  return read_trace(p, path, max_frame, out, error);
}

namespace {

// Reads every frame of an open capture, then closes it.
bool read_trace(pcap_t* p, const std::string& path, uint32_t max_frame, Trace& out, std::string& error) {
  Trace t;
  bool ok = true;
  if (pcap_datalink(p) != DLT_EN10MB) {
    error = path + ": link type " + std::to_string(pcap_datalink(p)) + " is not Ethernet";
    ok = false;
  }
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while (ok && (rc = pcap_next_ex(p, &header, &data)) == 1) {
    const size_t index = t.frames.size() + 1;
    if (header->caplen < header->len) {
      error = path + ": frame " + std::to_string(index) + " was captured short (" + std::to_string(header->caplen) +
              " of " + std::to_string(header->len) + " bytes): it cannot be sent as it was";
      ok = false;
    } else if (header->len > max_frame || header->len == 0) {
      error = path + ": frame " + std::to_string(index) + " has " + std::to_string(header->len) +
              " bytes; the port takes 1 to " + std::to_string(max_frame);
      ok = false;
    } else {
      const uint64_t ns = static_cast<uint64_t>(header->ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(header->ts.tv_usec);
      t.frames.push_back({t.bytes.size(), header->len, ns});
      t.bytes.insert(t.bytes.end(), data, data + header->len);
    }
  }
  if (ok && rc == PCAP_ERROR) {
    error = path + ": " + pcap_geterr(p);
    ok = false;
  }
  pcap_close(p);
  if (ok && t.frames.empty()) {
    error = path + " has no frames";
    ok = false;
  }
  if (ok) out = std::move(t);
  return ok;
}

}  // namespace

}  // namespace pkio::gen
